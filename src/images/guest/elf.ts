/**
 * What the guest's initramfs must carry, read from the ELF files themselves rather than from a
 * host tool (the build host need not have ldd's loader or kmod's modinfo, and neither would read
 * another root): a program's interpreter and shared libraries, a kernel module's dependencies.
 * Pure: the callers read the bytes. 64-bit little-endian ELF only (amd64 guests).
 */
import { OskError } from '../../errors.js';

interface Section {
  type: number;
  name: number;
  offset: number;
  size: number;
  link: number;
}

const SHT_DYNAMIC = 6;
const PT_INTERP = 3;
const DT_NEEDED = 1n;

function check(elf: Buffer, what: string): void {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1)
    throw new OskError(`${what} is not a 64-bit little-endian ELF file`);
}

function sections(elf: Buffer): Section[] {
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const size = elf.readUInt16LE(0x3a);
  const count = elf.readUInt16LE(0x3c);
  const out: Section[] = [];
  for (let i = 0; i < count; i++) {
    const at = shoff + i * size;
    out.push({
      name: elf.readUInt32LE(at),
      type: elf.readUInt32LE(at + 4),
      offset: Number(elf.readBigUInt64LE(at + 0x18)),
      size: Number(elf.readBigUInt64LE(at + 0x20)),
      link: elf.readUInt32LE(at + 0x28),
    });
  }
  return out;
}

function cString(elf: Buffer, at: number): string {
  const end = elf.indexOf(0, at);
  return elf.toString('latin1', at, end < 0 ? elf.length : end);
}

/** The program interpreter (PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2) and the DT_NEEDED names. */
export function dynamicNeeds(elf: Buffer, what: string): { interpreter?: string; needed: string[] } {
  check(elf, what);
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phsize = elf.readUInt16LE(0x36);
  let interpreter: string | undefined;
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
    const at = phoff + i * phsize;
    if (elf.readUInt32LE(at) === PT_INTERP) interpreter = cString(elf, Number(elf.readBigUInt64LE(at + 8)));
  }
  const all = sections(elf);
  const needed: string[] = [];
  for (const s of all.filter((x) => x.type === SHT_DYNAMIC)) {
    const strings = all[s.link]!.offset;
    for (let at = s.offset; at + 16 <= s.offset + s.size; at += 16) {
      const tag = elf.readBigInt64LE(at);
      if (tag === 0n) break;
      if (tag === DT_NEEDED) needed.push(cString(elf, strings + Number(elf.readBigUInt64LE(at + 8))));
    }
  }
  return { interpreter, needed };
}

/** A kernel module's `depends=` (its .modinfo section): the modules to load before it. */
export function moduleDepends(ko: Buffer, what: string): string[] {
  check(ko, what);
  const all = sections(ko);
  const names = all[ko.readUInt16LE(0x3e)]!;
  const modinfo = all.find((s) => cString(ko, names.offset + s.name) === '.modinfo');
  if (!modinfo) return [];
  const fields = ko.toString('latin1', modinfo.offset, modinfo.offset + modinfo.size).split('\0');
  const depends = fields.find((f) => f.startsWith('depends='))?.slice('depends='.length) ?? '';
  return depends.split(',').filter(Boolean);
}
