/*
 * ember-x86_64's use of translations kept across runs (core/tcg/tb-persist.h): where the file goes, what
 * it must match, and when it is written.
 */
#ifndef EMBER_LINUX_TB_CACHE_H
#define EMBER_LINUX_TB_CACHE_H

#include "core/tcg/backend.h"
#include "user/linux/elf-load.h"
#include "user/linux/options.h"

/* Keep the program's translations in -tbcache's directory (default: the user's cache directory,
   ember/tb). False (quietly) when the directory cannot be used or the cache is off. */
bool linux_tb_cache_open(const LinuxOptions *o, const LinuxElfImage *img, const char *ember_path,
                         const TCGBackend *backend);
/* Write what this run translated (at exit_group and before execve); with -d tbcache, say what was used. */
void linux_tb_cache_save(void);

#endif
