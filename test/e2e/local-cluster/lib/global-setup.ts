import { undeploy } from './deployment';

/** After the last file: stop the deployed form's processes and delete its objects (down.sh would kill them too). */
export default function setup(): () => Promise<void> {
  return () => undeploy();
}
