/** Byte units for tests and the bench (numbers; the unit fakes' bigint MiB is test/helpers/fakes.ts). */
export const MiB = 1024 * 1024;
