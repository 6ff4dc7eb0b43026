#pragma once

#include "hsm/p11.h"

#include <QString>
#include <memory>

namespace keyline::hsm {

// One loaded PKCS#11 module and its function list: the path to key generation, derive and wrap,
// which pkcs11-helper does not offer. dlopen()ed privately; C_Initialize with OS locking so
// several sessions may run at once.
//
// Load this before pkcs11-helper's provider for the same module: pkcs11-helper initialises with
// no arguments, which makes SoftHSM2 drop its locking. dlopen() hands pkcs11-helper the same
// instance, already initialised with OS locking. If someone else initialised the module first,
// this object neither initialises nor finalises it.
class Module {
public:
    // EnvironmentNotReady when the file is missing or is not a PKCS#11 module.
    static Result<std::shared_ptr<Module>> load(const QString& path);
    ~Module();
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    CK_FUNCTION_LIST* fn() const { return m_fn; }
    const QString& path() const { return m_path; }

    struct TokenSlot {
        CK_SLOT_ID slot = 0;
        QString label;
        QString serial;
        CK_FLAGS flags = 0;
    };
    // Tokens present now, initialised or not. Re-read on every call: SoftHSM2 moves a token to a
    // new slot when it is initialised, so slot IDs are never remembered across calls.
    Result<std::vector<TokenSlot>> tokens() const;
    // The initialised token with this label, or EnvironmentNotReady naming what to do.
    Result<TokenSlot> findToken(const QString& label) const;

private:
    Module() = default;
    void* m_lib = nullptr;
    CK_FUNCTION_LIST* m_fn = nullptr;
    bool m_ownsInit = false;
    QString m_path;
};

} // namespace keyline::hsm
