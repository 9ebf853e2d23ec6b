/*
 * CPU features, each tied to the CPUID bit that advertises it. The mnemonic table names the feature an
 * instruction needs; CPUID advertises exactly the features whose instructions are implemented (and, for
 * the ones executed on the host's own vector unit, that the host has).
 *
 *   FEATURE(name, leaf, subleaf, register (0=eax 1=ebx 2=ecx 3=edx), bit)
 */
FEATURE(BASE,     0x0,        0, 0, 0)   /* always present; never tested */
FEATURE(FPU,      0x1,        0, 3, 0)
FEATURE(TSC,      0x1,        0, 3, 4)
FEATURE(CX8,      0x1,        0, 3, 8)
FEATURE(CMOV,     0x1,        0, 3, 15)
FEATURE(MMX,      0x1,        0, 3, 23)
FEATURE(FXSR,     0x1,        0, 3, 24)
FEATURE(SSE,      0x1,        0, 3, 25)
FEATURE(SSE2,     0x1,        0, 3, 26)
FEATURE(SSE3,     0x1,        0, 2, 0)
FEATURE(PCLMUL,   0x1,        0, 2, 1)
FEATURE(SSSE3,    0x1,        0, 2, 9)
FEATURE(FMA,      0x1,        0, 2, 12)
FEATURE(CX16,     0x1,        0, 2, 13)
FEATURE(SSE41,    0x1,        0, 2, 19)
FEATURE(SSE42,    0x1,        0, 2, 20)
FEATURE(MOVBE,    0x1,        0, 2, 22)
FEATURE(POPCNT,   0x1,        0, 2, 23)
FEATURE(AES,      0x1,        0, 2, 25)
FEATURE(XSAVE,    0x1,        0, 2, 26)
FEATURE(OSXSAVE,  0x1,        0, 2, 27)
FEATURE(AVX,      0x1,        0, 2, 28)
FEATURE(F16C,     0x1,        0, 2, 29)
FEATURE(RDRAND,   0x1,        0, 2, 30)
FEATURE(BMI1,     0x7,        0, 1, 3)
FEATURE(AVX2,     0x7,        0, 1, 5)
FEATURE(BMI2,     0x7,        0, 1, 8)
/* Not instructions: how the x87 unit records its pointers (Intel; see x86_vendor_intel in cpuid.h). */
FEATURE(FDP_EXCPTN_ONLY, 0x7,   0, 1, 6)    /* FDP updated only on an unmasked x87 exception */
FEATURE(ZERO_FCS_FDS, 0x7,      0, 1, 13)   /* FCS and FDS deprecated: stored as zero */
FEATURE(ERMS,     0x7,        0, 1, 9)
FEATURE(RDSEED,   0x7,        0, 1, 18)
FEATURE(ADX,      0x7,        0, 1, 19)
FEATURE(SHA,      0x7,        0, 1, 29)
FEATURE(RDPID,    0x7,        0, 2, 22)
FEATURE(FSRM,     0x7,        0, 3, 4)
FEATURE(XSAVEOPT, 0xd,        1, 0, 0)
FEATURE(XSAVEC,   0xd,        1, 0, 1)
FEATURE(LAHF_LM,  0x80000001, 0, 2, 0)
FEATURE(LZCNT,    0x80000001, 0, 2, 5)
FEATURE(SYSCALL,  0x80000001, 0, 3, 11)
FEATURE(NX,       0x80000001, 0, 3, 20)
FEATURE(RDTSCP,   0x80000001, 0, 3, 27)
FEATURE(LM,       0x80000001, 0, 3, 29)
