# virtio-blk through the modern virtio-pci transport, driven like a guest driver would: find the device
# (1af4:1042) on bus 0, its capabilities, negotiate VIRTIO_F_VERSION_1 and FLUSH, set up one split queue,
# then read sector 0 of the image the test prepared and check it, write sector 1 and read it back, flush,
# GET_ID, and the errors a driver may provoke legally (beyond the end, unknown type). The interrupt side:
# ISR + INTx status without MSI-X, then a real MSI-X message through the local APIC. With readonly=on
# (VIRTIO_BLK_F_RO offered) the write must come back as IOERR instead. The test checks the image after.
        .include "testsuite/kernels/common.inc"
        .include "testsuite/kernels/virtio.inc"
        .set APIC, 0xFEE00000
        .set MSIX_VECTOR, 0x50
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        LOAD_FLAT_GDT
        PRINT msg_start

        mov $((0x1042 << 16) | 0x1AF4), %ebx
        call pci_find
        test %eax, %eax
        FAIL_UNLESS nz
        mov %eax, blk_bdf
        PRINT msg_found
        # bus mastering on: the device may now read and write RAM
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_read16
        or $4, %eax
        mov %eax, %ebx
        mov blk_bdf, %eax
        call pci_write16
        mov blk_bdf, %eax
        call virtio_find_caps
        test %eax, %eax
        FAIL_UNLESS nz
        cmpl $0, v_devcfg
        FAIL_UNLESS ne
        PRINT msg_caps

        # device features: VERSION_1 (bit 32) and FLUSH (bit 9); RO (bit 5) tells us the disk is read-only
        mov v_common, %ebx
        movl $1, VC_DFSELECT(%ebx)
        mov VC_DF(%ebx), %eax
        test $1, %eax
        FAIL_UNLESS nz
        movl $0, VC_DFSELECT(%ebx)
        mov VC_DF(%ebx), %eax
        test $(1 << 9), %eax
        FAIL_UNLESS nz
        shr $5, %eax
        and $1, %eax
        mov %eax, readonly
        PRINT msg_features
        # capacity (64-bit, in 512-byte sectors): the test's image is 1 MiB
        mov v_devcfg, %ebx
        cmpl $2048, (%ebx)
        FAIL_UNLESS e
        cmpl $0, 4(%ebx)
        FAIL_UNLESS e
        PRINT msg_capacity

        movl $(1 << 9), v_features_lo
        call virtq_defaults
        call virtio_setup
        cmp $0x0F, %eax
        FAIL_UNLESS e
        mov v_common, %ebx
        cmpw $VQ_SIZE, VC_QSIZE(%ebx)
        FAIL_UNLESS e
        cmpw $1, VC_QENABLE(%ebx)
        FAIL_UNLESS e
        PRINT msg_setup

        # read sector 0: the test wrote a signature at its start and 55 AA at its end
        mov $BLK_T_IN, %eax
        xor %ecx, %ecx
        mov $VQ_DATA, %ebx
        mov $512, %edx
        call blk_rw
        test %eax, %eax
        FAIL_UNLESS z
        cmpl $0, u_id
        FAIL_UNLESS e
        cmpl $513, u_len                # the data and the status byte
        FAIL_UNLESS e
        mov $disk_signature, %esi
        mov $VQ_DATA, %edi
        mov $16, %ecx
        cld
        repe cmpsb
        FAIL_UNLESS e
        cmpw $0xAA55, VQ_DATA + 510
        FAIL_UNLESS e
        PRINT msg_read0

        # without MSI-X the completion shows in the ISR (bit 0) and as the PCI interrupt status; reading the
        # ISR acknowledges both
        mov blk_bdf, %eax
        mov $6, %ecx
        call pci_read16
        test $8, %eax
        FAIL_UNLESS nz
        mov v_isr, %ebx
        movzbl (%ebx), %eax
        test $1, %eax
        FAIL_UNLESS nz
        movzbl (%ebx), %eax
        test %eax, %eax
        FAIL_UNLESS z
        mov blk_bdf, %eax
        mov $6, %ecx
        call pci_read16
        test $8, %eax
        FAIL_UNLESS z
        PRINT msg_isr

        # write sector 1: a line of text, then each byte's offset
        mov $VQ_DATA2, %edi
        xor %ecx, %ecx
1:      mov %cl, (%edi,%ecx)
        inc %ecx
        cmp $512, %ecx
        jb 1b
        mov $write_text, %esi
        mov $VQ_DATA2, %edi
        mov $32, %ecx
        rep movsb
        mov $BLK_T_OUT, %eax
        mov $1, %ecx
        mov $VQ_DATA2, %ebx
        mov $512, %edx
        call blk_rw
        cmpl $0, readonly
        je 2f
        cmp $BLK_S_IOERR, %eax
        FAIL_UNLESS e
        PRINT msg_ro_write
        jmp 3f
2:      test %eax, %eax
        FAIL_UNLESS z
        cmpl $1, u_len                  # only the status byte was written
        FAIL_UNLESS e
        PRINT msg_write1
        # read it back (with sector 0, in one 1 KiB request)
        mov $VQ_DATA, %edi
        mov $1024, %ecx
        mov $0xCC, %al
        rep stosb
        mov $BLK_T_IN, %eax
        xor %ecx, %ecx
        mov $VQ_DATA, %ebx
        mov $1024, %edx
        call blk_rw
        test %eax, %eax
        FAIL_UNLESS z
        mov $VQ_DATA2, %esi
        mov $(VQ_DATA + 512), %edi
        mov $512, %ecx
        repe cmpsb
        FAIL_UNLESS e
        cmpw $0xAA55, VQ_DATA + 510
        FAIL_UNLESS e
        PRINT msg_readback
3:
        # flush: header and status only
        mov $BLK_T_FLUSH, %eax
        xor %ecx, %ecx
        xor %edx, %edx
        call blk_rw
        test %eax, %eax
        FAIL_UNLESS z
        PRINT msg_flush

        # GET_ID: the drive's id= (the test says disk0), NUL-padded to 20 bytes
        mov $VQ_DATA, %edi
        mov $32, %ecx
        mov $0xCC, %al
        rep stosb
        mov $BLK_T_GET_ID, %eax
        xor %ecx, %ecx
        mov $VQ_DATA, %ebx
        mov $20, %edx
        call blk_rw
        test %eax, %eax
        FAIL_UNLESS z
        mov $disk_id, %esi
        mov $VQ_DATA, %edi
        mov $6, %ecx
        repe cmpsb
        FAIL_UNLESS e
        cmpb $0xCC, VQ_DATA + 20        # nothing beyond the 20 bytes
        FAIL_UNLESS e
        PRINT msg_getid

        # errors a driver may cause: beyond the last sector, straddling it, an unknown request type
        mov $BLK_T_IN, %eax
        mov $2048, %ecx
        mov $VQ_DATA, %ebx
        mov $512, %edx
        call blk_rw
        cmp $BLK_S_IOERR, %eax
        FAIL_UNLESS e
        mov $BLK_T_IN, %eax
        mov $2047, %ecx
        mov $VQ_DATA, %ebx
        mov $1024, %edx
        call blk_rw
        cmp $BLK_S_IOERR, %eax
        FAIL_UNLESS e
        PRINT msg_beyond
        mov $0x99, %eax
        xor %ecx, %ecx
        mov $VQ_DATA, %ebx
        mov $512, %edx
        call blk_rw
        cmp $BLK_S_UNSUPP, %eax
        FAIL_UNLESS e
        call virtio_status
        cmp $0x0F, %eax                 # none of these broke the device
        FAIL_UNLESS e
        PRINT msg_unsupp

        # MSI-X: table entry 0 -> this CPU's local APIC, vector 0x50; queue 0 uses entry 0. The 8259s are
        # masked first: nobody programmed them, and the INTx edges above are latched in their IRR.
        mov $0xFF, %al
        out %al, $0x21
        out %al, $0xA1
        mov v_isr, %ebx
        movzbl (%ebx), %eax             # acknowledge the INTx completions so far
        mov $0x1FF, %eax
        mov %eax, APIC + 0xF0           # the APIC must be software-enabled to take the message
        mov $MSIX_VECTOR, %edi
        mov $msix_handler, %esi
        xor %edx, %edx
        call set_gate32
        lidt idt_ptr
        mov blk_bdf, %eax
        mov $0x11, %ebx
        call pci_find_cap
        test %eax, %eax
        FAIL_UNLESS nz
        mov %eax, msix_cap
        lea 4(%eax), %ecx
        mov blk_bdf, %eax
        call pci_read32                 # table offset | BIR
        mov %eax, %edi
        mov %eax, %ecx
        and $7, %ecx
        mov blk_bdf, %eax
        call pci_bar_addr
        and $~7, %edi
        add %eax, %edi
        movl $APIC, (%edi)
        movl $0, 4(%edi)
        movl $MSIX_VECTOR, 8(%edi)
        movl $0, 12(%edi)               # unmasked
        mov msix_cap, %ecx
        add $2, %ecx
        mov blk_bdf, %eax
        call pci_read16
        or $0x8000, %eax                # MSI-X enable
        mov %eax, %ebx
        mov blk_bdf, %eax
        call pci_write16
        mov v_common, %ebx
        movw $0, VC_QSELECT(%ebx)
        movw $0, VC_QMSIX(%ebx)
        cmpw $0, VC_QMSIX(%ebx)
        FAIL_UNLESS e
        movw $0x7FF, VC_MSIX(%ebx)      # a vector the table does not have: NO_VECTOR reads back
        cmpw $0xFFFF, VC_MSIX(%ebx)
        FAIL_UNLESS e
        mov $BLK_T_IN, %eax
        xor %ecx, %ecx
        mov $VQ_DATA, %ebx
        mov $512, %edx
        call blk_rw
        test %eax, %eax
        FAIL_UNLESS z
        # the message is on its way (or already pending at the APIC): take it. The handler does not
        # return with IRET (the PVM host's instruction emulator lacks it): it resumes at msix_taken.
        mov $100000000, %ecx
        sti
4:      dec %ecx
        jnz 4b
        cli
        call fail_at
msix_taken:
        mov v_isr, %ebx
        movzbl (%ebx), %eax
        test %eax, %eax                 # with MSI-X on, the ISR stays clear
        FAIL_UNLESS z
        PRINT msg_msix

        # reset the device: status reads 0 and the queue is disabled
        mov v_common, %ebx
        movb $0, VC_STATUS(%ebx)
        cmpb $0, VC_STATUS(%ebx)
        FAIL_UNLESS e
        cmpw $0, VC_QENABLE(%ebx)
        FAIL_UNLESS e
        PRINT msg_reset
        PRINT msg_bye
        call poweroff32

msix_handler:
        movl $0, APIC + 0xB0            # EOI
        mov $stack_top, %esp
        jmp msix_taken

        SET_GATE32_ROUTINE
        ROUTINES32
        FAIL_AT_ROUTINE
        VIRTIO_ROUTINES

        GDT_FLAT32
blk_bdf:  .long 0
readonly: .long 0
msix_cap: .long 0
disk_signature: .ascii "EMBER TEST DISK\n"
write_text:     .ascii "written by the virtioblk kernel\n"
disk_id:        .asciz "disk0"
msg_start:    .asciz "virtio-blk kernel\n"
msg_found:    .asciz "virtio-blk 1af4:1042 found on bus 0 ok\n"
msg_caps:     .asciz "virtio capabilities (common, notify, isr, device) ok\n"
msg_features: .asciz "device features VERSION_1 and FLUSH ok\n"
msg_capacity: .asciz "capacity 2048 sectors ok\n"
msg_setup:    .asciz "features negotiated, queue of 8 enabled, driver ok\n"
msg_read0:    .asciz "read sector 0 ok\n"
msg_isr:      .asciz "isr and intx status ok\n"
msg_write1:   .asciz "write sector 1 ok\n"
msg_ro_write: .asciz "write refused on a read-only disk ok\n"
msg_readback: .asciz "read back sectors 0-1 ok\n"
msg_flush:    .asciz "flush ok\n"
msg_getid:    .asciz "get id ok\n"
msg_beyond:   .asciz "reads beyond the last sector refused ok\n"
msg_unsupp:   .asciz "unknown request type refused ok\n"
msg_msix:     .asciz "msi-x interrupt ok\n"
msg_reset:    .asciz "device reset ok\n"
msg_bye:      .asciz "powering off\n"
        .balign 4096
idt:    .fill 2048, 1, 0
stack:  .fill 4096, 1, 0
stack_top:
