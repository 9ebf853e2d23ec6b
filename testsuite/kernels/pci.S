# PCI enumeration through configuration mechanism 1 (0xCF8/0xCFC), as firmware or an OS does it: the
# CONFIG_ADDRESS register, the host bridge at 00:00.0, a scan of bus 0 (one line per function found)
# that must find virtio-blk, virtio-net and virtio-rng (the test gives all three), all-ones for absent
# functions, read-only ID registers, BAR sizing, the command register's memory decode, a BAR the guest
# moves, the interrupt pin and line, each virtio device's capability list and common configuration, the
# PCI configuration access capability, and 64 bytes from virtio-rng through a split queue.
        .include "testsuite/kernels/common.inc"
        .include "testsuite/kernels/virtio.inc"
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        PRINT msg_start

        # CONFIG_ADDRESS reads back what was written
        mov $0xCF8, %dx
        mov $0x80000810, %eax
        out %eax, %dx
        in %dx, %eax
        cmp $0x80000810, %eax
        FAIL_UNLESS e
        PRINT msg_addr

        # the host bridge: present, class 06:00 (host bridge), a type 0 header
        mov $0x80000000, %eax
        xor %ecx, %ecx
        call pci_read16
        cmp $0xFFFF, %eax
        FAIL_UNLESS ne
        mov $0x80000000, %eax
        mov $0x0A, %ecx
        call pci_read16
        cmp $0x0600, %eax
        FAIL_UNLESS e
        mov $0x80000000, %eax
        mov $0x0E, %ecx
        call pci_read8
        and $0x7F, %eax
        FAIL_UNLESS z
        PRINT msg_host

        # scan bus 0: print "00:ss.0 vvvv:dddd class cccc" for each function 0 present
        mov $0x80000000, %edi
1:      mov %edi, %eax
        xor %ecx, %ecx
        call pci_read32
        cmp $0xFFFFFFFF, %eax
        je 2f
        mov %eax, %ebx
        incl found
        PRINT msg_00
        mov %edi, %eax
        shr $11, %eax
        and $0x1F, %eax
        call hex8
        PRINT msg_dot0
        mov %ebx, %eax
        call hex16
        mov $':', %al
        call putc32
        mov %ebx, %eax
        shr $16, %eax
        call hex16
        PRINT msg_class
        mov %edi, %eax
        mov $0x0A, %ecx
        call pci_read16
        call hex16
        mov $'\n', %al
        call putc32
2:      add $0x800, %edi
        cmp $0x80010000, %edi
        jb 1b
        cmpl $4, found                  # host bridge + the three virtio functions
        FAIL_UNLESS ae
        mov $((0x1042 << 16) | 0x1AF4), %ebx
        call pci_find
        mov %eax, blk_bdf
        test %eax, %eax
        FAIL_UNLESS nz
        mov $((0x1041 << 16) | 0x1AF4), %ebx
        call pci_find
        mov %eax, net_bdf
        test %eax, %eax
        FAIL_UNLESS nz
        mov $((0x1044 << 16) | 0x1AF4), %ebx
        call pci_find
        mov %eax, rng_bdf
        test %eax, %eax
        FAIL_UNLESS nz
        PRINT msg_scan

        # absent: function 1 of the host bridge, bus 1, slot 31
        mov $0x80000100, %eax
        xor %ecx, %ecx
        call pci_read32
        cmp $0xFFFFFFFF, %eax
        FAIL_UNLESS e
        mov $0x80010000, %eax
        xor %ecx, %ecx
        call pci_read32
        cmp $0xFFFFFFFF, %eax
        FAIL_UNLESS e
        mov $0x8000F800, %eax
        xor %ecx, %ecx
        call pci_read32
        cmp $0xFFFFFFFF, %eax
        FAIL_UNLESS e
        PRINT msg_absent

        # vendor and device IDs are read-only
        mov blk_bdf, %eax
        xor %ecx, %ecx
        xor %ebx, %ebx
        call pci_write32
        mov blk_bdf, %eax
        xor %ecx, %ecx
        call pci_read32
        cmp $((0x1042 << 16) | 0x1AF4), %eax
        FAIL_UNLESS e
        PRINT msg_readonly

        # modern virtio devices: revision 1 or later, a capability list; class 01 (blk) and 02 (net)
        mov blk_bdf, %eax
        mov $8, %ecx
        call pci_read8
        cmp $1, %eax
        FAIL_UNLESS ae
        mov blk_bdf, %eax
        mov $6, %ecx
        call pci_read16
        test $0x10, %eax
        FAIL_UNLESS nz
        mov blk_bdf, %eax
        mov $0x0B, %ecx
        call pci_read8
        cmp $0x01, %eax
        FAIL_UNLESS e
        mov net_bdf, %eax
        mov $0x0B, %ecx
        call pci_read8
        cmp $0x02, %eax
        FAIL_UNLESS e
        PRINT msg_header

        # interrupt pin A, line 10 or 11 (what firmware would have routed)
        mov blk_bdf, %eax
        mov $0x3C, %ecx
        call pci_read16
        cmp $0x010A, %eax
        je 3f
        cmp $0x010B, %eax
        FAIL_UNLESS e
3:      PRINT msg_intx

        # BAR sizing on virtio-blk, memory decode off meanwhile: BAR 4 is 64-bit, 16 KiB; BAR 1 (MSI-X)
        # 32-bit, 4 KiB; BAR 0 unimplemented (reads 0 whatever is written)
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_read16
        mov %eax, saved_cmd
        mov %eax, %ebx
        and $~2, %ebx
        mov blk_bdf, %eax
        call pci_write16
        mov $0x20, %ecx
        call size_bar
        cmp $0xFFFFC004, %eax
        FAIL_UNLESS e
        mov $0x24, %ecx
        call size_bar
        cmp $0xFFFFFFFF, %eax
        FAIL_UNLESS e
        mov $0x14, %ecx
        call size_bar
        cmp $0xFFFFF000, %eax
        FAIL_UNLESS e
        mov $0x10, %ecx
        call size_bar
        test %eax, %eax
        FAIL_UNLESS z
        mov saved_cmd, %ebx
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_write16
        PRINT msg_sizing

        # the capabilities: common, notify, ISR, device configuration, all inside BAR 4
        mov blk_bdf, %eax
        call virtio_find_caps
        test %eax, %eax
        FAIL_UNLESS nz
        cmpl $0, v_devcfg
        FAIL_UNLESS ne
        cmpl $0, v_pcicfg
        FAIL_UNLESS ne
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_bar_addr
        mov %eax, blk_bar4
        mov v_common, %eax
        sub blk_bar4, %eax
        cmp $(0x4000 - 0x38), %eax
        FAIL_UNLESS be
        mov v_notify, %eax
        sub blk_bar4, %eax
        cmp $0x4000, %eax
        FAIL_UNLESS b
        mov blk_bdf, %eax
        mov $0x11, %ebx
        call pci_find_cap
        test %eax, %eax                 # MSI-X too
        FAIL_UNLESS nz
        mov v_common, %ebx
        cmpw $1, VC_NUMQ(%ebx)          # virtio-blk: one request queue
        FAIL_UNLESS e
        movl $1, VC_DFSELECT(%ebx)
        testl $1, VC_DF(%ebx)           # VERSION_1
        FAIL_UNLESS nz
        PRINT msg_blk_caps

        # memory decode off: the BAR answers nothing (all ones); on again: back
        mov saved_cmd, %ebx
        and $~2, %ebx
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_write16
        mov v_common, %ebx
        cmpw $0xFFFF, VC_NUMQ(%ebx)
        FAIL_UNLESS e
        mov saved_cmd, %ebx
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_write16
        mov v_common, %ebx
        cmpw $1, VC_NUMQ(%ebx)
        FAIL_UNLESS e
        PRINT msg_decode

        # move BAR 4 to 0xE0000000: the registers follow, the old place is empty; then back
        mov blk_bdf, %eax
        mov $0x20, %ecx
        mov $0xE0000000, %ebx
        call pci_write32
        mov v_common, %eax
        sub blk_bar4, %eax
        cmpw $1, 0xE0000000 + VC_NUMQ(%eax)
        FAIL_UNLESS e
        mov v_common, %ebx
        cmpw $0xFFFF, VC_NUMQ(%ebx)
        FAIL_UNLESS e
        mov blk_bdf, %eax
        mov $0x20, %ecx
        mov blk_bar4, %ebx
        or $4, %ebx
        call pci_write32
        mov v_common, %ebx
        cmpw $1, VC_NUMQ(%ebx)
        FAIL_UNLESS e
        PRINT msg_move

        # the configuration access capability (cfg_type 5): num_queues read through config space
        mov v_pcicfg, %ecx
        add $4, %ecx
        mov $4, %ebx                    # bar 4
        mov blk_bdf, %eax
        call pci_write32
        mov v_pcicfg, %ecx
        add $8, %ecx
        mov v_common, %ebx
        sub blk_bar4, %ebx
        add $VC_NUMQ, %ebx              # offset
        mov blk_bdf, %eax
        call pci_write32
        mov v_pcicfg, %ecx
        add $12, %ecx
        mov $2, %ebx                    # length
        mov blk_bdf, %eax
        call pci_write32
        mov v_pcicfg, %ecx
        add $16, %ecx
        mov blk_bdf, %eax
        call pci_read16
        cmp $1, %eax
        FAIL_UNLESS e
        PRINT msg_cfgcap

        # virtio-net: two or more queues, a MAC address in its device configuration
        mov net_bdf, %eax
        call virtio_find_caps
        test %eax, %eax
        FAIL_UNLESS nz
        mov v_common, %ebx
        cmpw $2, VC_NUMQ(%ebx)
        FAIL_UNLESS ae
        mov v_devcfg, %ebx
        mov (%ebx), %eax
        or 4(%ebx), %ax
        test %eax, %eax
        FAIL_UNLESS nz
        PRINT msg_net

        # virtio-rng: one queue; one 64-byte device-writable buffer comes back filled
        mov rng_bdf, %eax
        mov $4, %ecx
        call pci_read16
        or $4, %eax                     # bus master
        mov %eax, %ebx
        mov rng_bdf, %eax
        call pci_write16
        mov rng_bdf, %eax
        call virtio_find_caps
        test %eax, %eax
        FAIL_UNLESS nz
        mov v_common, %ebx
        cmpw $1, VC_NUMQ(%ebx)
        FAIL_UNLESS e
        movl $0, v_features_lo
        call virtq_defaults
        call virtio_setup
        cmp $0x0F, %eax
        FAIL_UNLESS e
        xor %eax, %eax
        mov $VQ_DATA, %ebx
        mov $64, %ecx
        mov $(DESC_F_WRITE << 16), %edx
        call set_desc
        xor %eax, %eax
        call vq_kick
        call vq_wait
        test %eax, %eax
        FAIL_UNLESS z
        cmpl $64, u_len
        FAIL_UNLESS e
        mov $VQ_DATA, %esi              # 64 random bytes are not all zero (or we lose 2^-512)
        xor %eax, %eax
        mov $16, %ecx
4:      or (%esi), %eax
        add $4, %esi
        loop 4b
        test %eax, %eax
        FAIL_UNLESS nz
        mov v_common, %ebx
        movb $0, VC_STATUS(%ebx)
        PRINT msg_rng

        PRINT msg_bye
        call poweroff32

# size_bar: ECX BAR register of blk_bdf -> EAX what reads back after writing all ones; the BAR is
# restored.
size_bar:
        push %ebx
        push %esi
        mov blk_bdf, %eax
        call pci_read32
        mov %eax, %esi
        mov $0xFFFFFFFF, %ebx
        mov blk_bdf, %eax
        call pci_write32
        mov blk_bdf, %eax
        call pci_read32
        push %eax
        mov %esi, %ebx
        mov blk_bdf, %eax
        call pci_write32
        pop %eax
        pop %esi
        pop %ebx
        ret

# hex8 / hex16: AL / AX as 2 / 4 hex digits
hex8:
        push %eax
        push %ecx
        shl $24, %eax
        mov $2, %ecx
        jmp 1f
hex16:
        push %eax
        push %ecx
        shl $16, %eax
        mov $4, %ecx
1:      rol $4, %eax
        push %eax
        and $0xF, %eax
        cmp $10, %eax
        jb 2f
        add $('a' - 10 - '0'), %eax
2:      add $'0', %eax
        call putc32
        pop %eax
        loop 1b
        pop %ecx
        pop %eax
        ret

        ROUTINES32
        FAIL_AT_ROUTINE
        VIRTIO_ROUTINES

        .balign 4
found:     .long 0
blk_bdf:   .long 0
net_bdf:   .long 0
rng_bdf:   .long 0
blk_bar4:  .long 0
saved_cmd: .long 0
msg_start:    .asciz "pci kernel\n"
msg_addr:     .asciz "config address register ok\n"
msg_host:     .asciz "host bridge 00:00.0 class 0600 ok\n"
msg_00:       .asciz "00:"
msg_dot0:     .asciz ".0 "
msg_class:    .asciz " class "
msg_scan:     .asciz "bus 0 scan found virtio-blk, virtio-net, virtio-rng ok\n"
msg_absent:   .asciz "absent functions read all ones ok\n"
msg_readonly: .asciz "read-only id registers ok\n"
msg_header:   .asciz "revision, capability list and class codes ok\n"
msg_intx:     .asciz "interrupt pin and line ok\n"
msg_sizing:   .asciz "bar sizing ok\n"
msg_blk_caps: .asciz "virtio-blk capabilities and common config ok\n"
msg_decode:   .asciz "memory decode off and on ok\n"
msg_move:     .asciz "bar moved by the guest ok\n"
msg_cfgcap:   .asciz "pci configuration access capability ok\n"
msg_net:      .asciz "virtio-net queues and mac ok\n"
msg_rng:      .asciz "virtio-rng random bytes ok\n"
msg_bye:      .asciz "powering off\n"
        .balign 16
stack:  .fill 4096, 1, 0
stack_top:
