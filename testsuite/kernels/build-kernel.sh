#!/bin/sh
# build-kernel.sh SRC OUT: assemble a test kernel and link it as a flat image at 1 MiB.
set -e
src="$1"; out="$2"
obj="${out%.bin}.o"
as --64 -I . -o "$obj" "$src"
ld -m elf_x86_64 -nostdlib -N -e 0x100000 -Ttext=0x100000 --oformat binary -o "$out" "$obj"
