// Helpers shared by the user/linux tests: a scratch directory, files with given bytes and modes, a builder
// of small x86-64 ELF files, and a way to drop every guest mapping between tests.
#ifndef EMBER_LINUX_TESTS_TEST_UTIL_H
#define EMBER_LINUX_TESTS_TEST_UTIL_H

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "user/linux/guest-mem.h"
}

namespace ember_test {

// A fresh directory under the test's scratch space.
inline std::string TempDir()
{
    const char *base = getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/ember-linux-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data()))
        return "/tmp";
    return buf.data();
}

inline std::string WriteFile(const std::string &path, const std::vector<uint8_t> &bytes, mode_t mode = 0755)
{
    unlink(path.c_str());
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd >= 0) {
        size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
            if (n <= 0)
                break;
            done += n;
        }
        fchmod(fd, mode);
        close(fd);
    }
    return path;
}

inline std::vector<uint8_t> ReadFile(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A small ELF: the header at 0, the program headers right after it, and every other byte of the file a
// pattern that depends on its offset (so mapped contents can be checked byte by byte).
struct MiniElf {
    uint16_t type = ET_EXEC;
    uint16_t machine = EM_X86_64;
    uint64_t entry = 0;
    std::vector<Elf64_Phdr> phdrs;
    size_t file_size = 0x3000;
    std::string interp;   // written at offset 0x800 with a PT_INTERP when not empty

    static uint8_t Pattern(size_t off) { return (uint8_t)(off * 7 + (off >> 8) + 1); }

    void AddLoad(uint64_t offset, uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint32_t flags,
                 uint64_t align = 0x1000)
    {
        Elf64_Phdr ph = {};
        ph.p_type = PT_LOAD;
        ph.p_flags = flags;
        ph.p_offset = offset;
        ph.p_vaddr = ph.p_paddr = vaddr;
        ph.p_filesz = filesz;
        ph.p_memsz = memsz;
        ph.p_align = align;
        phdrs.push_back(ph);
    }

    std::vector<uint8_t> Bytes() const
    {
        std::vector<Elf64_Phdr> all;
        if (!interp.empty()) {
            Elf64_Phdr ph = {};
            ph.p_type = PT_INTERP;
            ph.p_flags = PF_R;
            ph.p_offset = 0x800;
            ph.p_filesz = interp.size() + 1;
            ph.p_align = 1;
            all.push_back(ph);
        }
        all.insert(all.end(), phdrs.begin(), phdrs.end());
        std::vector<uint8_t> out(file_size);
        for (size_t i = 0; i < out.size(); i++)
            out[i] = Pattern(i);
        Elf64_Ehdr eh = {};
        memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = type;
        eh.e_machine = machine;
        eh.e_version = EV_CURRENT;
        eh.e_entry = entry;
        eh.e_phoff = sizeof(Elf64_Ehdr);
        eh.e_ehsize = sizeof(Elf64_Ehdr);
        eh.e_phentsize = sizeof(Elf64_Phdr);
        eh.e_phnum = (uint16_t)all.size();
        memcpy(out.data(), &eh, sizeof(eh));
        memcpy(out.data() + sizeof(eh), all.data(), all.size() * sizeof(Elf64_Phdr));
        if (!interp.empty())
            memcpy(out.data() + 0x800, interp.c_str(), interp.size() + 1);
        return out;
    }
};

// Unmap every guest mapping recorded so far and forget them all, so each test starts from nothing.
inline void DropGuestMappings()
{
    size_t len = 0;
    char *maps = guest_mem_format_maps(&len);
    std::istringstream in(std::string(maps, len));
    free(maps);
    std::string line;
    while (std::getline(in, line)) {
        unsigned long long start = 0, end = 0;
        if (sscanf(line.c_str(), "%llx-%llx", &start, &end) == 2)
            munmap((void *)(uintptr_t)start, end - start);
    }
    guest_mem_reset();
}

// Is any byte of [addr, addr+len) mapped in this process?
inline bool AnyMapped(uint64_t addr, uint64_t len)
{
    for (uint64_t p = addr & ~0xfffULL; p < addr + len; p += 0x1000) {
        unsigned char v;
        if (mincore((void *)(uintptr_t)p, 0x1000, &v) == 0)
            return true;
    }
    return false;
}

}  // namespace ember_test

#endif
