# Power-off the way an OS finds it out: the RSDP in the BIOS area (0xE0000-0xFFFFF, 16-byte aligned),
# its checksums, the XSDT and RSDT and every table's checksum, the FADT (PM1a control block, SCI on IRQ 9,
# the PM timer, the DSDT), the DSDT's AML \_S5 package for SLP_TYPa, the MADT (the local APIC count is
# printed for the test to compare with -smp; the I/O APIC; the IRQ 0 -> GSI 2 override), the PM timer
# running and SCI_EN set, then S5: SLP_TYPa and SLP_EN written to PM1a_CNT. The process must end, exit 0.
        .include "testsuite/kernels/common.inc"
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        PRINT msg_start

        # the RSDP: "RSD PTR " on a 16-byte boundary, the first 20 bytes sum to 0, revision 2: all of it too
        mov $0xE0000, %esi
1:      cmpl $0x20445352, (%esi)        # "RSD "
        jne 2f
        cmpl $0x20525450, 4(%esi)       # "PTR "
        jne 2f
        mov $20, %ecx
        call checksum
        test %al, %al
        je 3f
2:      add $16, %esi
        cmp $0x100000, %esi
        jb 1b
        call fail_at
3:      mov %esi, rsdp
        cmpb $2, 15(%esi)
        FAIL_UNLESS ae
        mov 20(%esi), %ecx
        call checksum
        test %al, %al
        FAIL_UNLESS z
        PRINT msg_rsdp
        mov rsdp, %eax
        call hex32
        PRINT msg_ok_nl

        # the XSDT: 64-bit pointers below 4 GiB; find FACP and APIC, every table's checksum right
        mov rsdp, %esi
        cmpl $0, 28(%esi)
        FAIL_UNLESS e
        mov 24(%esi), %esi
        cmpl $0x54445358, (%esi)        # "XSDT"
        FAIL_UNLESS e
        call table_checksum
        FAIL_UNLESS z
        mov 4(%esi), %ecx
        sub $36, %ecx
        shr $3, %ecx
        mov %ecx, xsdt_count
        lea 36(%esi), %edi
4:      cmpl $0, 4(%edi)
        FAIL_UNLESS e
        mov (%edi), %esi
        call table_checksum
        FAIL_UNLESS z
        cmpl $0x50434146, (%esi)        # "FACP"
        jne 5f
        mov %esi, fadt
5:      cmpl $0x43495041, (%esi)        # "APIC"
        jne 6f
        mov %esi, madt
6:      add $8, %edi
        loop 4b
        cmpl $0, fadt
        FAIL_UNLESS ne
        cmpl $0, madt
        FAIL_UNLESS ne
        # the RSDT (for ACPI 1.0 readers) lists as many tables
        mov rsdp, %esi
        mov 16(%esi), %esi
        cmpl $0x54445352, (%esi)        # "RSDT"
        FAIL_UNLESS e
        call table_checksum
        FAIL_UNLESS z
        mov 4(%esi), %ecx
        sub $36, %ecx
        shr $2, %ecx
        cmp xsdt_count, %ecx
        FAIL_UNLESS e
        PRINT msg_tables

        # the FADT: PM1a_CNT_BLK (2 bytes), SCI interrupt 9, PM timer block, the DSDT
        mov fadt, %esi
        mov 64(%esi), %eax
        test %eax, %eax
        FAIL_UNLESS nz
        mov %eax, pm1a_cnt
        cmpb $2, 89(%esi)
        FAIL_UNLESS e
        cmpw $9, 46(%esi)
        FAIL_UNLESS e
        mov 76(%esi), %eax
        test %eax, %eax
        FAIL_UNLESS nz
        mov %eax, pm_tmr
        mov 40(%esi), %eax              # DSDT; X_DSDT (offset 140) wins when the table has it
        cmpl $148, 4(%esi)
        jb 7f
        cmpl $0, 144(%esi)
        FAIL_UNLESS e
        cmpl $0, 140(%esi)
        je 7f
        mov 140(%esi), %eax
7:      mov %eax, dsdt
        PRINT msg_fadt

        # the DSDT: its checksum, then the AML NameOp "_S5_" PackageOp PkgLength NumElements SLP_TYPa ...
        mov dsdt, %esi
        cmpl $0x54445344, (%esi)        # "DSDT"
        FAIL_UNLESS e
        call table_checksum
        FAIL_UNLESS z
        mov 4(%esi), %ecx
        lea -8(%esi,%ecx), %edx         # the last place a name and a package could start
        add $36, %esi
8:      cmpl $0x5F35535F, (%esi)        # "_S5_"
        je 9f
        inc %esi
        cmp %edx, %esi
        jb 8b
        call fail_at
9:      cmpb $0x12, 4(%esi)             # PackageOp
        FAIL_UNLESS e
        movzbl 5(%esi), %eax            # PkgLength: bits 7-6 of the lead byte count the bytes after it
        shr $6, %eax
        lea 7(%esi,%eax), %esi          # past PackageOp, PkgLength, NumElements
        movzbl (%esi), %eax
        cmp $0x0A, %al                  # BytePrefix
        jne 10f
        movzbl 1(%esi), %eax
        jmp 11f
10:     cmp $1, %al                     # ZeroOp 0, OneOp 1; anything else is not a package element we know
        FAIL_UNLESS be
11:     cmp $7, %eax
        FAIL_UNLESS be
        mov %eax, slp_typ
        PRINT msg_s5
        mov slp_typ, %eax
        call hex32
        PRINT msg_ok_nl

        # the MADT: count enabled local APICs (type 0); the I/O APIC (type 1) at 0xFEC00000; IRQ 0 -> GSI 2
        mov madt, %esi
        mov 4(%esi), %edx
        add %esi, %edx                  # end
        add $44, %esi
        xor %ebx, %ebx
12:     cmp %edx, %esi
        jae 15f
        movzbl (%esi), %eax
        cmp $0, %eax
        jne 13f
        testl $1, 4(%esi)
        jz 14f
        inc %ebx
        jmp 14f
13:     cmp $1, %eax
        jne 131f
        cmpl $0xFEC00000, 4(%esi)
        FAIL_UNLESS e
        incl ioapics
        jmp 14f
131:    cmp $2, %eax
        jne 14f
        cmpb $0, 3(%esi)                # source IRQ 0
        jne 14f
        cmpl $2, 4(%esi)                # GSI 2
        FAIL_UNLESS e
        incl irq0_override
14:     movzbl 1(%esi), %eax
        test %eax, %eax
        FAIL_UNLESS nz
        add %eax, %esi
        jmp 12b
15:     cmpl $1, ioapics
        FAIL_UNLESS e
        cmpl $1, irq0_override
        FAIL_UNLESS e
        PRINT msg_madt
        mov %ebx, %eax
        call hex32
        PRINT msg_madt2

        # the PM timer counts; SCI_EN is set (no SMI command port: the machine is always in ACPI mode)
        mov pm_tmr, %edx
        in %dx, %eax
        mov %eax, %ebx
        mov $1000000, %ecx
16:     in %dx, %eax
        cmp %eax, %ebx
        jne 17f
        loop 16b
        call fail_at
17:     mov fadt, %esi
        cmpl $0, 48(%esi)               # SMI_CMD
        FAIL_UNLESS e
        mov pm1a_cnt, %edx
        in %dx, %ax
        test $1, %ax
        FAIL_UNLESS nz
        PRINT msg_pm

        # S5: SLP_TYPa in bits 12-10, SLP_EN (bit 13)
        PRINT msg_bye
        mov pm1a_cnt, %edx
        in %dx, %ax
        and $~(7 << 10), %ax
        mov slp_typ, %ecx
        shl $10, %ecx
        or %cx, %ax
        or $(1 << 13), %ax
        out %ax, %dx
        mov $100000000, %ecx
18:     loop 18b
        PRINT msg_alive
        cli
19:     hlt
        jmp 19b

# checksum: ESI start, ECX length -> AL the byte sum
checksum:
        push %ecx
        push %esi
        xor %eax, %eax
1:      add (%esi), %al
        inc %esi
        loop 1b
        pop %esi
        pop %ecx
        ret
# table_checksum: ESI an ACPI table -> ZF set if its bytes (length at offset 4) sum to 0
table_checksum:
        push %eax
        push %ecx
        mov 4(%esi), %ecx
        call checksum
        test %al, %al
        pop %ecx
        pop %eax
        ret

        ROUTINES32
        FAIL_AT_ROUTINE

        .balign 4
rsdp:          .long 0
fadt:          .long 0
madt:          .long 0
dsdt:          .long 0
xsdt_count:    .long 0
pm1a_cnt:      .long 0
pm_tmr:        .long 0
slp_typ:       .long 0
ioapics:       .long 0
irq0_override: .long 0
msg_start:  .asciz "acpi kernel\n"
msg_rsdp:   .asciz "rsdp checksums at "
msg_ok_nl:  .asciz " ok\n"
msg_tables: .asciz "xsdt, rsdt and table checksums ok\n"
msg_fadt:   .asciz "fadt pm1a_cnt, sci 9, pm timer, dsdt ok\n"
msg_s5:     .asciz "dsdt _S5 SLP_TYPa "
msg_madt:   .asciz "madt io apic and irq0 -> gsi 2 ok\n"
msg_madt2:  .asciz " local apics in the madt\n"
msg_pm:     .asciz "pm timer runs, sci_en set ok\n"
msg_bye:    .asciz "powering off\n"
msg_alive:  .asciz "FAIL: still running after S5\n"
        .balign 16
stack:  .fill 4096, 1, 0
stack_top:
