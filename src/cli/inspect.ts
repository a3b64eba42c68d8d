import path from 'node:path';
import { parseArgs } from 'node:util';
import { systemDeviceOf } from '../os/device';
import { runCommand } from '../os/exec';
import { systemStatFs } from '../os/fs-stats';
import { effectiveCapabilities, findTool, isCharDevice, kernelFilesystems, pathInfo } from '../os/host-probe';
import { SystemLoopDevices } from '../os/loop';
import { SystemMounter } from '../os/mount';
import { mountHolding } from '../os/project-quota';
import { runDoctor, TOOLS, type HostFacts } from './doctor';
import { attachmentRows, groupRows, quarantineRows, snapshotRows, volumeRows, type Row } from './listings';
import { findOrphans, type HostView } from './orphans';
import { readState } from './state-reader';
import { renderTable } from './table';

const COMMANDS = ['volumes', 'snapshots', 'groups', 'attachments', 'quarantine', 'orphans', 'doctor', 'all'] as const;
type Command = (typeof COMMANDS)[number];

export const INSPECT_USAGE = `Usage: hostpath-csi inspect <command> [--state-dir DIR] [--output table|json] [--no-usage]

Reads the driver's state directory and the host, and changes nothing. Works with the driver stopped or running.

Commands:
  volumes      every volume: ID, name, kind, state, capacity, bytes used, health, node, staging path, targets, attachments
  snapshots    every snapshot: ID, name, source volume, kind, state, size, group
  groups       every volume group snapshot
  attachments  every ControllerPublishVolume attachment
  quarantine   records moved aside as unreadable, and records that would be at the next start
  orphans      data without a record, records without data, mounts and loop devices no record accounts for
               (exit status 1 when there is any)
  doctor       checks the host: filesystem, reflink, project quotas, capabilities, free space, loop devices,
               kernel filesystems, tools; says which StorageClass kinds work here (exit status 1 on a failed check)
  all          every listing above but doctor

Flags:
  --state-dir DIR   the driver's --state-dir [env HOSTPATH_CSI_STATE_DIR; default /var/lib/hostpath-csi]
  --output, -o      table (default) or json
  --no-usage        skip measuring each volume's bytes used (a directory volume is walked file by file)
`;

/** A bad command line: one line on stderr, exit status 2 (as for the driver's own flags). */
class UsageError extends Error {}

interface Options {
  command: Command;
  stateDir: string;
  json: boolean;
  usage: boolean;
}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv): Options | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { 'state-dir': { type: 'string' }, output: { type: 'string', short: 'o' }, 'no-usage': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  if (parsed.values.help) return 'help';
  const [command, ...extra] = parsed.positionals;
  if (command === undefined) throw new UsageError(`name a command: ${COMMANDS.join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}: one of ${COMMANDS.join(', ')}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const output = parsed.values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`--output ${JSON.stringify(output)}: table or json`);
  const stateDir = path.resolve(parsed.values['state-dir'] ?? env['HOSTPATH_CSI_STATE_DIR'] ?? '/var/lib/hostpath-csi');
  return { command: command as Command, stateDir, json: output === 'json', usage: parsed.values['no-usage'] !== true };
}

/** The mounts, the loop devices over state files, and the state filesystem's device; null parts where unreadable. */
async function hostView(stateDir: string): Promise<HostView | null> {
  const [mounts, loops, device] = await Promise.all([new SystemMounter(runCommand).list(), new SystemLoopDevices(runCommand).list().catch(() => []), systemDeviceOf(stateDir).catch(() => null)]);
  return device === null ? null : { mounts, loops, stateDevice: device };
}

/** The state directory, or the nearest ancestor that exists: where the driver would create it. */
async function nearestExisting(dir: string): Promise<string> {
  let at = dir;
  while ((await pathInfo(at)) === null && path.dirname(at) !== at) at = path.dirname(at);
  return at;
}

async function hostFacts(stateDir: string): Promise<HostFacts> {
  const at = await nearestExisting(stateDir);
  const [mounts, device, fs, capabilities, kernel, loopControl, stateDirInfo] = await Promise.all([
    new SystemMounter(runCommand).list().catch(() => []),
    systemDeviceOf(at).catch(() => null),
    systemStatFs(at).catch(() => null),
    effectiveCapabilities(),
    kernelFilesystems(),
    isCharDevice('/dev/loop-control'),
    pathInfo(stateDir),
  ]);
  const tools: Record<string, string | null> = {};
  for (const t of TOOLS) tools[t] = await findTool(t);
  const mount = device === null ? undefined : mountHolding(mounts, at, device);
  return { stateDir, stateDirInfo, mount, fs, capabilities, kernelFilesystems: kernel, loopControl, tools, run: runCommand };
}

type Section = { title: string; rows: Row[] };

async function listings(o: Options): Promise<{ sections: Section[]; status: number }> {
  const view = await readState(o.stateDir);
  const all = o.command === 'all';
  const sections: Section[] = [];
  if (all || o.command === 'volumes') sections.push({ title: 'volumes', rows: await volumeRows(view, o.usage) });
  if (all || o.command === 'snapshots') sections.push({ title: 'snapshots', rows: snapshotRows(view) });
  if (all || o.command === 'groups') sections.push({ title: 'groups', rows: groupRows(view) });
  if (all || o.command === 'attachments') sections.push({ title: 'attachments', rows: attachmentRows(view) });
  if (all || o.command === 'quarantine') sections.push({ title: 'quarantine', rows: quarantineRows(view) });
  let status = 0;
  if (all || o.command === 'orphans') {
    const orphans = await findOrphans(view, await hostView(o.stateDir));
    sections.push({ title: 'orphans', rows: orphans.map((x) => ({ ...x })) });
    if (o.command === 'orphans' && orphans.length > 0) status = 1;
  }
  return { sections, status };
}

async function execute(o: Options, out: (text: string) => void): Promise<number> {
  if (o.command === 'doctor') {
    const { checks, kinds } = await runDoctor(await hostFacts(o.stateDir));
    if (o.json) out(`${JSON.stringify({ checks, kinds }, null, 2)}\n`);
    else out(`${renderTable(checks.map((c) => ({ ...c })))}\n${renderTable(kinds.map((k) => ({ kind: k.kind, works: k.works ? 'yes' : 'no', why: k.why })))}`);
    return checks.some((c) => c.verdict === 'fail') ? 1 : 0;
  }
  const { sections, status } = await listings(o);
  if (o.json) out(`${JSON.stringify(sections.length === 1 ? sections[0]!.rows : Object.fromEntries(sections.map((s) => [s.title, s.rows])), null, 2)}\n`);
  else out(sections.map((s) => (sections.length > 1 ? `== ${s.title}\n` : '') + renderTable(s.rows)).join('\n'));
  return status;
}

/** `hostpath-csi inspect ...`: returns the exit status; writes its answer through `out`, complaints through `err`. */
export async function runInspect(argv: readonly string[], env: NodeJS.ProcessEnv, out: (text: string) => void, err: (text: string) => void): Promise<number> {
  let options;
  try {
    options = parse(argv, env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`hostpath-csi inspect: ${e.message}\n`);
    return 2;
  }
  if (options === 'help') {
    out(INSPECT_USAGE);
    return 0;
  }
  return execute(options, out);
}
