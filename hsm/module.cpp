#include "hsm/module.h"

#include <QFileInfo>
#include <dlfcn.h>

namespace keyline::hsm {

Result<std::shared_ptr<Module>> Module::load(const QString& path) {
    const QString fix =
        QStringLiteral("install the HSM vendor's PKCS#11 module or set [hsm] module "
                       "in keyline.conf (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)");
    if (!QFileInfo(path).isFile())
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("PKCS#11 module '%1' does not exist: %2").arg(path, fix));
    std::shared_ptr<Module> m(new Module);
    m->m_path = path;
    // RTLD_LOCAL: the module's symbols must not satisfy anyone else's (OpenSSL clashes).
    m->m_lib = dlopen(QFile::encodeName(path).constData(), RTLD_NOW | RTLD_LOCAL);
    if (!m->m_lib)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("PKCS#11 module '%1' cannot be loaded (%2): %3")
                         .arg(path, QString::fromLocal8Bit(dlerror()), fix));
    auto getList = reinterpret_cast<CK_C_GetFunctionList>(dlsym(m->m_lib, "C_GetFunctionList"));
    if (!getList || getList(&m->m_fn) != CKR_OK || !m->m_fn)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("'%1' is not a PKCS#11 module (no C_GetFunctionList): %2")
                         .arg(path, fix));
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    const CK_RV rv = m->m_fn->C_Initialize(&args);
    if (rv == CKR_OK)
        m->m_ownsInit = true;
    else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return p11Error(QStringLiteral("C_Initialize of '%1'").arg(path), rv)
            .withContext(QStringLiteral("PKCS#11 module not usable"));
    return m;
}

Module::~Module() {
    if (m_fn && m_ownsInit)
        m_fn->C_Finalize(nullptr);
    if (m_lib)
        dlclose(m_lib);
}

Result<std::vector<Module::TokenSlot>> Module::tokens() const {
    CK_ULONG count = 0;
    CK_RV rv = m_fn->C_GetSlotList(CK_TRUE, nullptr, &count);
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("C_GetSlotList"), rv);
    std::vector<CK_SLOT_ID> slots(count);
    rv = m_fn->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("C_GetSlotList"), rv);
    slots.resize(count);
    std::vector<TokenSlot> out;
    for (CK_SLOT_ID slot : slots) {
        CK_TOKEN_INFO info{};
        if (m_fn->C_GetTokenInfo(slot, &info) != CKR_OK)
            continue; // a token pulled between the two calls is simply not there
        TokenSlot t;
        t.slot = slot;
        t.label = paddedText(info.label, sizeof info.label);
        t.serial = paddedText(info.serialNumber, sizeof info.serialNumber);
        t.flags = info.flags;
        out.push_back(t);
    }
    return out;
}

Result<Module::TokenSlot> Module::findToken(const QString& label) const {
    KL_TRY_ASSIGN(auto all, tokens());
    QStringList seen;
    for (const auto& t : all) {
        if (!(t.flags & CKF_TOKEN_INITIALIZED))
            continue;
        if (t.label == label)
            return t;
        seen << t.label;
    }
    return Error(
        ErrorCode::EnvironmentNotReady,
        QStringLiteral("no token labelled '%1' in PKCS#11 module '%2' (tokens present: %3): "
                       "connect the HSM, or for development run 'keyline hsm init-dev', "
                       "or set [hsm] token")
            .arg(label, m_path,
                 seen.isEmpty() ? QStringLiteral("none") : seen.join(QStringLiteral(", "))));
}

} // namespace keyline::hsm
