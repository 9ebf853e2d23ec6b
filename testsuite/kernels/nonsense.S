# A guest that programs its devices with nonsense, to prove the emulator survives it. For each case the
# virtio-blk device (a fresh setup each time) must report the violation (DEVICE_NEEDS_RESET in its
# status, or an error status in the request, or a refused FEATURES_OK) or ignore it harmlessly; never
# crash, hang, or touch memory outside guest RAM. After every case the kernel resets the device, sets it
# up again and reads sector 0 successfully, then prints "<case>: <outcome>, recovered ok".
# Cases: descriptors outside RAM (in the PCI hole, on the device's own BAR, wrapping around 2^64), huge
# lengths, a huge sector, descriptor loops and bad next indexes, an avail index far ahead, a bad ring
# head, chains without status or with the wrong direction, indirect tables (not negotiated, outside RAM,
# nested, longer than 1024 descriptors), queue sizes that are not powers of two or too big, rings outside
# RAM or misaligned, ring addresses changed after enable, notifications for missing queues, refused features,
# a reset with a request in flight, an MSI-X message aimed at RAM, DMA over the descriptor table,
# read-only configuration; then PCI BARs moved onto RAM, onto another BAR of the device, onto another
# device, onto the local APIC, to all-ones, to 0 and to the top of the 32-bit space; notifications at a
# BAR's old place and with memory decoding off (which must reach nothing, also through a KVM ioeventfd);
# odd-sized accesses to the configuration ports, and virtio-rng's whole configuration space written with
# all ones and restored (virtio-rng must still serve a request).
        .include "testsuite/kernels/common.inc"
        .include "testsuite/kernels/virtio.inc"
        .set APIC, 0xFEE00000
        .set HOLE, 0xF0000000           # never RAM: the 32-bit PCI hole
        .set OUT_NEEDS_RESET, 1
        .set OUT_ERROR, 2
        .set OUT_FINE, 3
        .set M_RESET, 1 << OUT_NEEDS_RESET
        .set M_ERROR, 1 << OUT_ERROR
        .set M_FINE, 1 << OUT_FINE
        .set F_FLUSH, 1 << 9
        .set F_INDIRECT, 1 << 28
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        PRINT msg_start
        mov $((0x1042 << 16) | 0x1AF4), %ebx
        call pci_find
        test %eax, %eax
        FAIL_UNLESS nz
        mov %eax, blk_bdf
        mov $((0x1044 << 16) | 0x1AF4), %ebx
        call pci_find
        test %eax, %eax
        FAIL_UNLESS nz
        mov %eax, rng_bdf
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_read16
        or $4, %eax                     # bus master
        mov %eax, %ebx
        mov blk_bdf, %eax
        call pci_write16
        mov blk_bdf, %eax
        mov $0x20, %ecx
        call pci_read32
        mov %eax, bar4_lo
        mov blk_bdf, %eax
        mov $0x24, %ecx
        call pci_read32
        mov %eax, bar4_hi
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_bar_addr
        mov %eax, bar4_addr
        mov blk_bdf, %eax
        mov $1, %ecx
        call pci_bar_addr
        mov %eax, bar1_addr
        mov blk_bdf, %eax
        call virtio_find_caps
        test %eax, %eax
        FAIL_UNLESS nz
        call recover
        PRINT msg_baseline

        mov $cases, %ebp
next_case:
        cmpl $0, (%ebp)
        je all_done
        call setup_default
        cmp $0x0F, %eax
        FAIL_UNLESS e
        call *(%ebp)
        mov %eax, outcome
        mov 8(%ebp), %esi
        call puts32
        mov $msg_colon, %esi
        call puts32
        mov outcome, %eax
        cmp $3, %eax
        jbe 1f
        xor %eax, %eax
1:      mov outcome_names(,%eax,4), %esi
        call puts32
        mov outcome, %eax
        mov 4(%ebp), %ecx
        bt %eax, %ecx
        jc 2f
        PRINT msg_unexpected
        call fail_at
2:      call recover
        PRINT msg_recovered
        add $12, %ebp
        jmp next_case
all_done:
        PRINT msg_survived
        PRINT msg_bye
        call poweroff32

# ---- helpers ----

setup_default:
        movl $F_FLUSH, v_features_lo
setup_features:                         # v_features_lo already set
        call virtq_defaults
        jmp virtio_setup

# recover: reset, set up, read sector 0 and check the disk's signature. Fails the test if anything is off.
recover:
        push %ecx
        push %esi
        push %edi
        call setup_default
        cmp $0x0F, %eax
        FAIL_UNLESS e
        mov $VQ_DATA, %edi
        mov $512, %ecx
        mov $0xCC, %al
        cld
        rep stosb
        call good_read
        call blk_submit
        test %eax, %eax
        FAIL_UNLESS z
        mov $disk_signature, %esi
        mov $VQ_DATA, %edi
        mov $16, %ecx
        repe cmpsb
        FAIL_UNLESS e
        pop %edi
        pop %esi
        pop %ecx
        ret

# good_read: req_* for a 512-byte read of sector 0 into VQ_DATA, chain built at descriptors 0-2.
good_read:
        movl $BLK_T_IN, req_type
        movl $0, req_sector
        movl $0, req_sector + 4
        movl $VQ_DATA, req_data
        movl $512, req_len
        jmp blk_build

# judge: offer head 0 and classify: needs reset, error status, fine; 0 (a failure) on timeout.
judge:
        xor %eax, %eax
        call vq_kick
judge_after_kick:
        call vq_wait
        cmp $-2, %eax
        je 1f
        test %eax, %eax
        jnz 3f
        cmpb $0, VQ_STATUS
        jne 2f
        mov $OUT_FINE, %eax
        ret
1:      mov $OUT_NEEDS_RESET, %eax
        ret
2:      mov $OUT_ERROR, %eax
        ret
3:      xor %eax, %eax
        ret

# status_outcome: classify by the device status alone (needs reset, FEATURES_OK refused, fine).
status_outcome:
        call virtio_status
        test $VS_NEEDS_RESET, %eax
        jnz 1f
        test $VS_FEATURES_OK, %eax
        jz 2f
        mov $OUT_FINE, %eax
        ret
1:      mov $OUT_NEEDS_RESET, %eax
        ret
2:      mov $OUT_ERROR, %eax
        ret

# set_bar4: EBX low, ECX high dword of blk's BAR 4. restore_bar4: the original.
set_bar4:
        push %ecx
        mov blk_bdf, %eax
        mov $0x20, %ecx
        call pci_write32
        pop %ebx
        mov blk_bdf, %eax
        mov $0x24, %ecx
        jmp pci_write32
restore_bar4:
        mov bar4_lo, %ebx
        mov bar4_hi, %ecx
        jmp set_bar4

# bar_case_end: BAR 4 back in place; the device must have kept its state (0x0F) through it all.
bar_case_end:
        call restore_bar4
        call virtio_status
        cmp $0x0F, %eax
        jne 1f
        call good_read
        jmp judge
1:      xor %eax, %eax
        ret

# ---- the cases: each returns an outcome in EAX ----

c_desc_hole:
        call good_read
        movl $HOLE, VQ_DESC + 16
        jmp judge
c_desc_bar:
        call good_read
        mov v_common, %eax
        mov %eax, VQ_DESC + 16
        jmp judge
c_desc_wrap:
        call good_read
        movl $0xFFFFFF00, VQ_DESC + 16
        movl $0xFFFFFFFF, VQ_DESC + 20
        jmp judge
c_desc_huge:
        call good_read
        movl $0xFFFFFFFF, VQ_DESC + 24
        jmp judge
c_len_ram:                              # 16 MiB of RAM as the buffer: in RAM, but beyond the disk
        call good_read
        movl $0x01000000, VQ_DESC + 16
        movl $0x01000000, VQ_DESC + 24
        jmp judge
c_sector_huge:
        call good_read
        movl $0x00800000, VQ_HDR + 12   # sector 2^55: sector * 512 overflows 64 bits
        jmp judge
c_loop:                                 # header -> 1 -> 0 -> 1 ...
        call good_read
        movw $0, VQ_DESC + 16 + 14
        movw $DESC_F_NEXT, VQ_DESC + 16 + 12
        jmp judge
c_self_loop:
        call good_read
        movw $0, VQ_DESC + 14
        jmp judge
c_next_beyond:
        call good_read
        movw $100, VQ_DESC + 14
        jmp judge
c_avail_ahead:
        call good_read
        mov vq_avail, %ebx
        movw $0, 4(%ebx)
        movw $1000, 2(%ebx)
        mov v_notify_addr, %ebx
        movw $0, (%ebx)
        jmp judge_after_kick
c_head_beyond:
        call good_read
        mov $200, %eax
        call vq_kick
        jmp judge_after_kick
c_no_status:                            # the header alone
        call good_read
        movw $0, VQ_DESC + 12
        jmp judge
c_hdr_writable:
        call good_read
        movw $(DESC_F_NEXT | DESC_F_WRITE), VQ_DESC + 12
        jmp judge
c_read_after_write:                     # the status descriptor device-readable, after a writable one
        call good_read
        movw $0, VQ_DESC + 32 + 12
        jmp judge
c_indirect_unneg:
        call good_read
        call make_indirect
        jmp judge
c_indirect_hole:
        movl $(F_FLUSH | F_INDIRECT), v_features_lo
        call setup_features
        call good_read
        call make_indirect
        movl $HOLE, VQ_DESC
        jmp judge
c_indirect_nested:
        movl $(F_FLUSH | F_INDIRECT), v_features_lo
        call setup_features
        call good_read
        call make_indirect
        movw $(DESC_F_INDIRECT), VQ_DATA2 + 12
        jmp judge
c_indirect_long:                        # 1100 entries of 1 byte: longer than any device allows (1024)
        movl $(F_FLUSH | F_INDIRECT), v_features_lo
        call setup_features
        call good_read
        mov $VQ_DATA2, %edi
        mov $VQ_HDR, %eax               # entry 0: the header
        mov %eax, (%edi)
        movl $0, 4(%edi)
        movl $16, 8(%edi)
        movw $DESC_F_NEXT, 12(%edi)
        movw $1, 14(%edi)
        mov $1, %ecx
1:      add $16, %edi
        movl $(VQ_DATA + 0x800), (%edi)
        movl $0, 4(%edi)
        movl $1, 8(%edi)
        movw $(DESC_F_NEXT | DESC_F_WRITE), 12(%edi)
        lea 1(%ecx), %eax
        mov %ax, 14(%edi)
        inc %ecx
        cmp $1099, %ecx
        jb 1b
        add $16, %edi                   # entry 1099: the status byte
        movl $VQ_STATUS, (%edi)
        movl $0, 4(%edi)
        movl $1, 8(%edi)
        movw $DESC_F_WRITE, 12(%edi)
        movw $0, 14(%edi)
        movl $VQ_DATA2, VQ_DESC
        movl $0, VQ_DESC + 4
        movl $(1100 * 16), VQ_DESC + 8
        movw $DESC_F_INDIRECT, VQ_DESC + 12
        movw $0, VQ_DESC + 14
        jmp judge
c_indirect_good:                        # the same request through a valid indirect table: works
        movl $(F_FLUSH | F_INDIRECT), v_features_lo
        call setup_features
        call good_read
        call make_indirect
        jmp judge
c_qsize_npot:
        movl $7, vq_size
        jmp 1f
c_qsize_big:
        movl $1024, vq_size
        jmp 1f
c_ring_hole:
        movl $HOLE, vq_desc
        jmp 1f
c_ring_misaligned:
        movl $(VQ_DESC + 8), vq_desc
        jmp 1f
c_ring_end:                             # the used ring runs past the top of the 32-bit space
        movl $0xFFFFFFF0, vq_used
1:      call virtio_setup
        call status_outcome
        push %eax
        call virtq_defaults
        pop %eax
        ret
c_ring_moved:                           # ring addresses written after the queue is enabled: ignored
        mov v_common, %ebx
        movl $HOLE, VC_QDESC(%ebx)
        movl $HOLE, VC_QUSED(%ebx)
        call good_read
        jmp judge
c_notify_missing:
        mov v_notify_mult, %eax
        imul $7, %eax
        add v_notify, %eax
        movw $7, (%eax)
        jmp status_outcome
c_features_unoffered:                   # bit 63 was not offered
        mov v_common, %ebx
        movb $0, VC_STATUS(%ebx)
        movb $(VS_ACK | VS_DRIVER), VC_STATUS(%ebx)
        movl $1, VC_GFSELECT(%ebx)
        movl $0x80000001, VC_GF(%ebx)
        movb $(VS_ACK | VS_DRIVER | VS_FEATURES_OK), VC_STATUS(%ebx)
        jmp status_outcome
c_features_legacy:                      # no VERSION_1: a legacy driver, which this device refuses
        mov v_common, %ebx
        movb $0, VC_STATUS(%ebx)
        movb $(VS_ACK | VS_DRIVER), VC_STATUS(%ebx)
        movl $1, VC_GFSELECT(%ebx)
        movl $0, VC_GF(%ebx)
        movb $(VS_ACK | VS_DRIVER | VS_FEATURES_OK), VC_STATUS(%ebx)
        jmp status_outcome
c_inflight_reset:                       # reset right after the notify; set up again: no stale completion
        call good_read
        movl $64, req_len               # a short read: may still be on its way at the reset
        call blk_build
        xor %eax, %eax
        call vq_kick
        call setup_default
        cmp $0x0F, %eax
        jne 2f
        mov $0x608, %dx                 # watch the new ring for 20 ms by the ACPI PM timer (3.579545 MHz)
        in %dx, %eax
        mov %eax, %ecx
1:      cmpw $0, VQ_USED + 2
        jne 2f
        in %dx, %eax
        sub %ecx, %eax
        and $0xFFFFFF, %eax
        cmp $71591, %eax
        jb 1b
        call good_read
        jmp judge
2:      xor %eax, %eax
        ret
c_msix_ram:                             # an MSI-X entry aimed at RAM: the message must not be a DMA write
        movl $0x5A5A5A5A, 0x200000
        mov bar1_addr, %edi
        movl $0x200000, (%edi)
        movl $0, 4(%edi)
        movl $0x12345678, 8(%edi)
        movl $0, 12(%edi)
        mov blk_bdf, %eax
        mov $0x11, %ebx
        call pci_find_cap
        lea 2(%eax), %ecx
        mov %ecx, msix_ctrl
        mov blk_bdf, %eax
        mov $0x8000, %ebx
        call pci_write16
        mov v_common, %ebx
        movw $0, VC_QSELECT(%ebx)
        movw $0, VC_QMSIX(%ebx)
        call good_read
        call judge
        push %eax
        mov blk_bdf, %eax
        mov msix_ctrl, %ecx
        xor %ebx, %ebx
        call pci_write16
        pop %eax
        cmpl $0x5A5A5A5A, 0x200000
        je 1f
        xor %eax, %eax
1:      ret
c_dma_over_ring:                        # sector 0 read over the descriptor table itself
        call good_read
        movl $VQ_DESC, VQ_DESC + 16
        call judge
        cmp $OUT_FINE, %eax
        jne 1f
        cmpl $0x45424D45, VQ_DESC       # "EMBE": the disk's first bytes landed there
        je 1f
        xor %eax, %eax
1:      ret
c_config_readonly:                      # capacity is read-only; queue 9 does not exist
        mov v_devcfg, %ebx
        movl $0x7FFFFFFF, (%ebx)
        cmpl $2048, (%ebx)
        jne 1f
        mov v_common, %ebx
        movl $0xFFFFFFFF, 0x3C(%ebx)    # past the common configuration
        movw $9, VC_QSELECT(%ebx)
        movw $16, VC_QSIZE(%ebx)
        movl $HOLE, VC_QDESC(%ebx)
        movw $1, VC_QENABLE(%ebx)
        cmpw $0, VC_QSIZE(%ebx)
        jne 1f
        movw $0, VC_QSELECT(%ebx)
        call good_read
        jmp judge
1:      xor %eax, %eax
        ret

c_bar_on_ram:                           # RAM wins: a write there is a RAM write, not a device reset
        movl $0xFFFFFFFF, 0x800000 + VC_STATUS
        mov $0x800000, %ebx
        xor %ecx, %ecx
        call set_bar4
        mov v_common, %eax
        sub bar4_addr, %eax
        movb $0, 0x800000 + VC_STATUS(%eax)
        cmpl $0xFFFFFF00, 0x800000 + VC_STATUS
        je bar_case_end
        call restore_bar4
        xor %eax, %eax
        ret
c_bar_on_msix:                          # BAR 4 over BAR 1: not decoded; the MSI-X table still answers
        mov bar1_addr, %edi
        movl $0xFEE00000, (%edi)
        mov bar1_addr, %ebx
        xor %ecx, %ecx
        call set_bar4
        mov bar1_addr, %edi
        cmpl $0xFEE00000, (%edi)
        jne 1f
        movl $0, (%edi)
        mov v_common, %ebx
        cmpb $0xFF, VC_STATUS(%ebx)     # nothing at the old place
        je bar_case_end
1:      call restore_bar4
        xor %eax, %eax
        ret
c_bar_on_other:                         # onto virtio-rng's BAR 4: rng keeps it (no FLUSH feature there)
        mov rng_bdf, %eax
        mov $4, %ecx
        call pci_bar_addr
        mov %eax, %ebx
        mov %eax, %esi
        xor %ecx, %ecx
        call set_bar4
        mov v_common, %eax
        sub bar4_addr, %eax
        add %esi, %eax
        movl $0, VC_DFSELECT(%eax)
        testl $F_FLUSH, VC_DF(%eax)
        jz bar_case_end
        call restore_bar4
        xor %eax, %eax
        ret
c_bar_on_lapic:                         # onto the local APIC: the APIC keeps its page
        mov APIC + 0x30, %eax
        mov %eax, apic_version
        mov $APIC, %ebx
        xor %ecx, %ecx
        call set_bar4
        mov APIC + 0x30, %eax
        cmp apic_version, %eax
        je bar_case_end
        call restore_bar4
        xor %eax, %eax
        ret
c_bar_all_ones:                         # as sizing leaves it, with decoding on: decodes nothing
        mov $0xFFFFFFFF, %ebx
        mov $0xFFFFFFFF, %ecx
        call set_bar4
        mov v_common, %ebx
        cmpb $0xFF, VC_STATUS(%ebx)
        je bar_case_end
        call restore_bar4
        xor %eax, %eax
        ret
c_bar_zero:
        xor %ebx, %ebx
        xor %ecx, %ecx
        call set_bar4
        mov v_common, %ebx
        cmpb $0xFF, VC_STATUS(%ebx)
        je bar_case_end
        call restore_bar4
        xor %eax, %eax
        ret
c_bar_top:                              # the last 16 KiB below 4 GiB: a legal place, the device follows
        mov $0xFFFFC000, %ebx
        xor %ecx, %ecx
        call set_bar4
        mov v_common, %eax
        sub bar4_addr, %eax
        cmpb $0x0F, 0xFFFFC000 + VC_STATUS(%eax)
        je bar_case_end
        call restore_bar4
        xor %eax, %eax
        ret

c_notify_old_place:                     # BAR moved: a notify at the old place reaches nothing, the new works
        call good_read
        mov $0xE0000000, %ebx
        xor %ecx, %ecx
        call set_bar4
        mov v_notify_addr, %eax
        sub bar4_addr, %eax
        add $0xE0000000, %eax
        mov %eax, new_notify
        mov v_common, %eax
        sub bar4_addr, %eax
        add $0xE0000000, %eax
        mov %eax, new_common
        jmp notify_elsewhere
c_notify_decode_off:                    # memory decoding off: a notify reaches nothing; on again: it works
        call good_read
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_read16
        mov %eax, %ebx
        and $~2, %ebx
        mov blk_bdf, %eax
        call pci_write16
        mov v_notify_addr, %eax
        mov %eax, new_notify
        mov v_common, %eax
        mov %eax, new_common
notify_elsewhere:                       # offer head 0, notify at v_notify_addr: nothing may happen
        mov v_notify_addr, %eax
        mov %eax, old_notify
        movl $notify_sink, v_notify_addr
        xor %eax, %eax
        call vq_kick
        mov old_notify, %ebx
        movw $0, (%ebx)
        call wait_20ms
        cmpw $0, VQ_USED + 2
        jne 1f
        call restore_decode
        mov new_notify, %ebx            # where the device is now
        movw $0, (%ebx)
        mov old_notify, %eax
        mov %eax, v_notify_addr
        push v_common
        mov new_common, %eax            # the wait reads the device status: at its new place
        mov %eax, v_common
        call judge_after_kick
        pop v_common
        cmp $OUT_FINE, %eax
        jne 2f
        jmp bar_case_end
1:      call restore_decode
        mov old_notify, %eax
        mov %eax, v_notify_addr
2:      call restore_bar4
        xor %eax, %eax
        ret
restore_decode:
        mov blk_bdf, %eax
        mov $4, %ecx
        call pci_read16
        mov %eax, %ebx
        or $6, %ebx                     # memory decode and bus master
        mov blk_bdf, %eax
        jmp pci_write16

c_cfg_all_ones:                         # virtio-rng's config dwords all ones, then restored
        mov $0x0C, %dx                  # odd accesses to the configuration ports first: all ignored
        mov $0xCFD, %dx
        in %dx, %eax
        mov $0xCFE, %dx
        in %dx, %ax
        out %ax, %dx
        mov $0xCF9, %dx                 # (0xCF9 is the reset register: left alone)
        mov $0xCFA, %dx
        in %dx, %al
        mov $0xFF, %al
        out %al, %dx
        mov $4, %ecx                    # save dwords 0x04-0xFC
1:      mov rng_bdf, %eax
        call pci_read32
        mov %eax, cfg_save(%ecx)
        add $4, %ecx
        cmp $0x100, %ecx
        jb 1b
        xor %ecx, %ecx                  # all ones everywhere (the IDs are read-only)
        mov $0xFFFFFFFF, %ebx
2:      mov rng_bdf, %eax
        call pci_write32
        add $4, %ecx
        cmp $0x100, %ecx
        jb 2b
        mov rng_bdf, %eax
        xor %ecx, %ecx
        call pci_read32
        cmp $((0x1044 << 16) | 0x1AF4), %eax
        jne 5f
        mov $0xFC, %ecx                 # restore, backwards: the command register last
3:      mov cfg_save(%ecx), %ebx
        mov rng_bdf, %eax
        call pci_write32
        sub $4, %ecx
        jnz 3b
        mov rng_bdf, %eax               # and virtio-rng still works: one request through its queue
        call virtio_find_caps
        test %eax, %eax
        jz 5f
        movl $0, v_features_lo
        call virtq_defaults
        call virtio_setup
        cmp $0x0F, %eax
        jne 5f
        xor %eax, %eax
        mov $VQ_DATA, %ebx
        mov $64, %ecx
        mov $(DESC_F_WRITE << 16), %edx
        call set_desc
        xor %eax, %eax
        call vq_kick
        call vq_wait
        test %eax, %eax
        jnz 5f
        cmpl $64, u_len
        jne 5f
        mov v_common, %ebx
        movb $0, VC_STATUS(%ebx)
        mov $OUT_FINE, %eax
        jmp 6f
5:      xor %eax, %eax
6:      push %eax                       # back to driving virtio-blk
        mov blk_bdf, %eax
        call virtio_find_caps
        pop %eax
        ret

# wait_20ms: by the ACPI PM timer (3.579545 MHz, 24 bits at least)
wait_20ms:
        push %eax
        push %ecx
        push %edx
        mov $0x608, %dx
        in %dx, %eax
        mov %eax, %ecx
1:      in %dx, %eax
        sub %ecx, %eax
        and $0xFFFFFF, %eax
        cmp $71591, %eax
        jb 1b
        pop %edx
        pop %ecx
        pop %eax
        ret

# make_indirect: move descriptors 0-2 into an indirect table at VQ_DATA2; descriptor 0 points at it.
make_indirect:
        push %ecx
        push %esi
        push %edi
        mov $VQ_DESC, %esi
        mov $VQ_DATA2, %edi
        mov $12, %ecx
        cld
        rep movsl
        movl $VQ_DATA2, VQ_DESC
        movl $0, VQ_DESC + 4
        movl $48, VQ_DESC + 8
        movw $DESC_F_INDIRECT, VQ_DESC + 12
        movw $0, VQ_DESC + 14
        pop %edi
        pop %esi
        pop %ecx
        ret

        ROUTINES32
        FAIL_AT_ROUTINE
        VIRTIO_ROUTINES

        .balign 4
cases:
        .long c_desc_hole, M_RESET, n_desc_hole
        .long c_desc_bar, M_RESET, n_desc_bar
        .long c_desc_wrap, M_RESET, n_desc_wrap
        .long c_desc_huge, M_RESET, n_desc_huge
        .long c_len_ram, M_ERROR, n_len_ram
        .long c_sector_huge, M_ERROR, n_sector_huge
        .long c_loop, M_RESET, n_loop
        .long c_self_loop, M_RESET, n_self_loop
        .long c_next_beyond, M_RESET, n_next_beyond
        .long c_avail_ahead, M_RESET, n_avail_ahead
        .long c_head_beyond, M_RESET, n_head_beyond
        .long c_no_status, M_RESET, n_no_status
        .long c_hdr_writable, M_RESET, n_hdr_writable
        .long c_read_after_write, M_RESET, n_read_after_write
        .long c_indirect_unneg, M_RESET, n_indirect_unneg
        .long c_indirect_hole, M_RESET, n_indirect_hole
        .long c_indirect_nested, M_RESET, n_indirect_nested
        .long c_indirect_long, M_RESET, n_indirect_long
        .long c_indirect_good, M_FINE, n_indirect_good
        .long c_qsize_npot, M_RESET, n_qsize_npot
        .long c_qsize_big, M_RESET, n_qsize_big
        .long c_ring_hole, M_RESET, n_ring_hole
        .long c_ring_misaligned, M_RESET, n_ring_misaligned
        .long c_ring_end, M_RESET, n_ring_end
        .long c_ring_moved, M_FINE, n_ring_moved
        .long c_notify_missing, M_RESET, n_notify_missing
        .long c_features_unoffered, M_ERROR, n_features_unoffered
        .long c_features_legacy, M_ERROR, n_features_legacy
        .long c_inflight_reset, M_FINE, n_inflight_reset
        .long c_msix_ram, M_FINE, n_msix_ram
        .long c_dma_over_ring, M_FINE, n_dma_over_ring
        .long c_config_readonly, M_FINE, n_config_readonly
        .long c_bar_on_ram, M_FINE, n_bar_on_ram
        .long c_bar_on_msix, M_FINE, n_bar_on_msix
        .long c_bar_on_other, M_FINE, n_bar_on_other
        .long c_bar_on_lapic, M_FINE, n_bar_on_lapic
        .long c_bar_all_ones, M_FINE, n_bar_all_ones
        .long c_bar_zero, M_FINE, n_bar_zero
        .long c_bar_top, M_FINE, n_bar_top
        .long c_notify_old_place, M_FINE, n_notify_old_place
        .long c_notify_decode_off, M_FINE, n_notify_decode_off
        .long c_cfg_all_ones, M_FINE, n_cfg_all_ones
        .long 0

n_desc_hole:          .asciz "descriptor in the pci hole"
n_desc_bar:           .asciz "descriptor on the device's own bar"
n_desc_wrap:          .asciz "descriptor wrapping past 2^64"
n_desc_huge:          .asciz "descriptor of 4 GiB"
n_len_ram:            .asciz "16 MiB buffer in ram, beyond the disk"
n_sector_huge:        .asciz "sector 2^55"
n_loop:               .asciz "descriptor chain loop"
n_self_loop:          .asciz "descriptor pointing at itself"
n_next_beyond:        .asciz "next index beyond the table"
n_avail_ahead:        .asciz "avail index 1000 ahead"
n_head_beyond:        .asciz "avail ring head 200 of 8"
n_no_status:          .asciz "request without a status byte"
n_hdr_writable:       .asciz "device-writable header"
n_read_after_write:   .asciz "readable descriptor after a writable one"
n_indirect_unneg:     .asciz "indirect table not negotiated"
n_indirect_hole:      .asciz "indirect table in the pci hole"
n_indirect_nested:    .asciz "nested indirect table"
n_indirect_long:      .asciz "indirect chain of 1100 descriptors"
n_indirect_good:      .asciz "valid indirect table"
n_qsize_npot:         .asciz "queue size 7"
n_qsize_big:          .asciz "queue size 1024 (offered 256)"
n_ring_hole:          .asciz "descriptor ring in the pci hole"
n_ring_misaligned:    .asciz "misaligned descriptor ring"
n_ring_end:           .asciz "used ring at the top of 4 GiB"
n_ring_moved:         .asciz "ring moved after enable"
n_notify_missing:     .asciz "notify for queue 7"
n_features_unoffered: .asciz "feature bit 63 not offered"
n_features_legacy:    .asciz "no VERSION_1"
n_inflight_reset:     .asciz "reset with a request in flight"
n_msix_ram:           .asciz "msi-x message aimed at ram"
n_dma_over_ring:      .asciz "read into the descriptor table"
n_config_readonly:    .asciz "writes to read-only config and queue 9"
n_bar_on_ram:         .asciz "bar moved onto ram"
n_bar_on_msix:        .asciz "bar moved onto the msi-x bar"
n_bar_on_other:       .asciz "bar moved onto virtio-rng's bar"
n_bar_on_lapic:       .asciz "bar moved onto the local apic"
n_bar_all_ones:       .asciz "bar set to all ones"
n_bar_zero:           .asciz "bar set to 0"
n_bar_top:            .asciz "bar at the top of 4 GiB"
n_notify_old_place:   .asciz "notify at the bar's old place"
n_notify_decode_off:  .asciz "notify with memory decoding off"
n_cfg_all_ones:       .asciz "virtio-rng config space written with all ones"

        .balign 4
outcome_names: .long o_wrong, o_reset, o_error, o_fine
o_wrong:  .asciz "WRONG (hang, stale write or device misbehaving)"
o_reset:  .asciz "device needs reset"
o_error:  .asciz "refused with an error"
o_fine:   .asciz "no harm, device works"
msg_colon:      .asciz ": "
msg_recovered:  .asciz ", recovered ok\n"
msg_unexpected: .asciz " (not what this case allows)\n"
msg_start:      .asciz "nonsense kernel\n"
msg_baseline:   .asciz "baseline read of sector 0 ok\n"
msg_survived:   .asciz "every case survived ok\n"
msg_bye:        .asciz "powering off\n"
disk_signature: .ascii "EMBER TEST DISK\n"
        .balign 4
outcome:      .long 0
blk_bdf:      .long 0
rng_bdf:      .long 0
bar4_lo:      .long 0
bar4_hi:      .long 0
bar4_addr:    .long 0
bar1_addr:    .long 0
msix_ctrl:    .long 0
apic_version: .long 0
old_notify:   .long 0
new_notify:   .long 0
new_common:   .long 0
        .balign 4
cfg_save:     .fill 256, 1, 0
notify_sink:  .long 0                   # vq_kick's notify goes here while the test notifies by hand
        .balign 16
stack:  .fill 4096, 1, 0
stack_top:
