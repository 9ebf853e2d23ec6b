/* X86VcpuState mirrors kvm_regs/kvm_sregs field for field; these copy one into the other. */
#include <string.h>

#include "system/kvm/kvm-internal.h"

static struct kvm_segment kvm_seg(const X86Segment *s)
{
    return (struct kvm_segment){
        .base = s->base, .limit = s->limit, .selector = s->selector, .type = s->type,
        .present = s->present, .dpl = s->dpl, .db = s->db, .s = s->s, .l = s->l, .g = s->g,
        .avl = s->avl, .unusable = s->unusable,
    };
}

static X86Segment x86_seg(const struct kvm_segment *k)
{
    return (X86Segment){
        .base = k->base, .limit = k->limit, .selector = k->selector, .type = k->type,
        .present = k->present, .dpl = k->dpl, .db = k->db, .s = k->s, .l = k->l, .g = k->g,
        .avl = k->avl, .unusable = k->unusable,
    };
}

void kvm_state_to_kvm(const X86VcpuState *s, struct kvm_regs *r, struct kvm_sregs *sr)
{
    memset(r, 0, sizeof(*r));
    r->rax = s->gpr[0];  r->rcx = s->gpr[1];  r->rdx = s->gpr[2];  r->rbx = s->gpr[3];
    r->rsp = s->gpr[4];  r->rbp = s->gpr[5];  r->rsi = s->gpr[6];  r->rdi = s->gpr[7];
    r->r8 = s->gpr[8];   r->r9 = s->gpr[9];   r->r10 = s->gpr[10]; r->r11 = s->gpr[11];
    r->r12 = s->gpr[12]; r->r13 = s->gpr[13]; r->r14 = s->gpr[14]; r->r15 = s->gpr[15];
    r->rip = s->rip;
    r->rflags = s->rflags;

    /* Keep fields we do not model (the pending-interrupt bitmap) as KVM had them: callers read first. */
    sr->es = kvm_seg(&s->es); sr->cs = kvm_seg(&s->cs); sr->ss = kvm_seg(&s->ss);
    sr->ds = kvm_seg(&s->ds); sr->fs = kvm_seg(&s->fs); sr->gs = kvm_seg(&s->gs);
    sr->tr = kvm_seg(&s->tr); sr->ldt = kvm_seg(&s->ldt);
    sr->gdt = (struct kvm_dtable){ .base = s->gdt.base, .limit = s->gdt.limit };
    sr->idt = (struct kvm_dtable){ .base = s->idt.base, .limit = s->idt.limit };
    sr->cr0 = s->cr0; sr->cr2 = s->cr2; sr->cr3 = s->cr3; sr->cr4 = s->cr4; sr->cr8 = s->cr8;
    sr->efer = s->efer;
    sr->apic_base = s->apic_base;
}

void kvm_state_from_kvm(X86VcpuState *s, const struct kvm_regs *r, const struct kvm_sregs *sr)
{
    const uint64_t gpr[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                               r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
    memcpy(s->gpr, gpr, sizeof(gpr));
    s->rip = r->rip;
    s->rflags = r->rflags;
    s->es = x86_seg(&sr->es); s->cs = x86_seg(&sr->cs); s->ss = x86_seg(&sr->ss);
    s->ds = x86_seg(&sr->ds); s->fs = x86_seg(&sr->fs); s->gs = x86_seg(&sr->gs);
    s->tr = x86_seg(&sr->tr); s->ldt = x86_seg(&sr->ldt);
    s->gdt = (X86DescTable){ .base = sr->gdt.base, .limit = sr->gdt.limit };
    s->idt = (X86DescTable){ .base = sr->idt.base, .limit = sr->idt.limit };
    s->cr0 = sr->cr0; s->cr2 = sr->cr2; s->cr3 = sr->cr3; s->cr4 = sr->cr4; s->cr8 = sr->cr8;
    s->efer = sr->efer;
    s->apic_base = sr->apic_base;
}
