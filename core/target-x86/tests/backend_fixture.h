// The base of the ctl_*_test.cc and harness_test.cc fixtures: the test's backend (its parameter), an input
// state, the native and emulated results, and one-call helpers to run a piece of code both ways.
#ifndef EMBER_BACKEND_FIXTURE_H
#define EMBER_BACKEND_FIXTURE_H

#include <stdlib.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/target-x86/tests/harness.h"
extern "C" {
#include "core/tcg/backend.h"
}

class BackendTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override
    {
        backend_ = static_cast<const TCGBackend *>(harness_backend_named(GetParam().c_str()));
        if (!backend_) GTEST_SKIP() << "no backend called " << GetParam();
        harness_state_init(in_.get());
    }

    // A case running `code` on this test's backend.
    HarnessCase Case(const std::vector<uint8_t> &code, uint32_t flags_mask = 0) const
    {
        HarnessCase c = {};
        c.code = code.data();
        c.len = code.size();
        c.flags_mask = flags_mask;
        c.backend = backend_;
        return c;
    }

    // One run from in_, native and emulated; true when they agree (a mismatch is printed in full).
    bool CheckCase(const HarnessCase &c)
    {
        return harness_check_results(&c, in_.get(), GetParam().c_str(), native_.get(), emulated_.get());
    }

    template <typename T>
    static std::unique_ptr<T, decltype(&free)> Alloc()
    {
        return {static_cast<T *>(aligned_alloc(64, sizeof(T))), &free};
    }

    const TCGBackend *backend_ = nullptr;
    std::unique_ptr<HarnessState, decltype(&free)> in_ = Alloc<HarnessState>();
    std::unique_ptr<HarnessResult, decltype(&free)> native_ = Alloc<HarnessResult>();
    std::unique_ptr<HarnessResult, decltype(&free)> emulated_ = Alloc<HarnessResult>();
};

#endif
