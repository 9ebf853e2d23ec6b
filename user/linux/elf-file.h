/*
 * Inside the ELF loader: one opened, validated ELF file (elf-check.c), which elf-load.c then maps.
 */
#ifndef EMBER_LINUX_ELF_FILE_H
#define EMBER_LINUX_ELF_FILE_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct ElfFile {
    const char *path;       /* as given, for messages */
    const char *owner;      /* for an interpreter: the program that names it; else NULL */
    int fd;
    struct stat st;
    Elf *elf;
    GElf_Ehdr ehdr;
    GElf_Phdr *phdrs;       /* all e_phnum of them */
    size_t phnum;
    int first_load, last_load;   /* indices of the first and last PT_LOAD */
    char interp[4096];      /* PT_INTERP's path, "" when none */
} ElfFile;

/*
 * Open `path` and check everything about it that can be checked before mapping: that it is a file we may
 * execute, an x86-64 ELF executable or shared object, with program headers and loadable segments that make
 * sense. 0, or a negative errno with "ember-x86_64: <path>: <problem>" in err (for an interpreter, owner
 * is the program: "ember-x86_64: <owner>: interpreter <path>: <problem>").
 */
int linux_elf_open(ElfFile *f, const char *path, const char *owner, char *err, size_t err_size);
/* Write such a message about f into err and return -errnum. */
int linux_elf_error(char *err, size_t err_size, const ElfFile *f, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void linux_elf_close(ElfFile *f);

/* The page-aligned span [lo, hi) of f's PT_LOAD segments before relocation, and their largest alignment. */
void linux_elf_span(const ElfFile *f, uint64_t *lo, uint64_t *hi, uint64_t *align);

#endif
