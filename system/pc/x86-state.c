/* The architectural state after RESET or INIT (Intel SDM vol. 3, section 9.1.1, table 9-1). */
#include "system/pc/x86-state.h"

#include <string.h>

static X86Segment x86_real_segment(uint16_t selector, uint8_t type)
{
    return (X86Segment){ .base = (uint64_t)selector << 4, .limit = 0xffff, .selector = selector,
                         .type = type, .present = 1, .s = 1 };
}

void x86_state_reset(X86VcpuState *s, int apic_id, bool bsp)
{
    (void)apic_id;
    memset(s, 0, sizeof(*s));
    s->rip = 0xfff0;
    s->rflags = 0x2;
    s->gpr[X86_RDX] = 0x600;                     /* family/model/stepping as a processor signature */
    s->cs = x86_real_segment(0xf000, 0xb);       /* execute/read, accessed */
    s->cs.base = 0xffff0000;                     /* so the first fetch is at 0xFFFFFFF0 */
    s->ds = s->es = s->ss = s->fs = s->gs = x86_real_segment(0, 0x3);   /* read/write, accessed */
    s->ldt = (X86Segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
    s->tr = (X86Segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
    s->gdt.limit = s->idt.limit = 0xffff;
    s->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
    s->apic_base = 0xfee00000 | (1u << 11) | (bsp ? 1u << 8 : 0);   /* enabled, BSP flag */
}
