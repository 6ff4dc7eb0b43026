#include "hsm/session_pool.h"

namespace keyline::hsm {

SessionLease::SessionLease(SessionLease&& other) noexcept
    : m_pool(other.m_pool)
    , m_handle(other.m_handle)
    , m_broken(other.m_broken) {
    other.m_pool = nullptr;
}

SessionLease::~SessionLease() {
    if (m_pool)
        m_pool->release(m_handle, m_broken);
}

CK_FUNCTION_LIST* SessionLease::fn() const {
    return m_pool->fn();
}

CK_RV SessionLease::check(CK_RV rv) {
    if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
        rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_ERROR)
        m_broken = true;
    return rv;
}

SessionPool::SessionPool(std::shared_ptr<Module> module, Module::TokenSlot token, int maxSessions)
    : m_module(std::move(module))
    , m_token(std::move(token))
    , m_max(maxSessions < 1 ? 1 : maxSessions) {}

Result<std::unique_ptr<SessionPool>> SessionPool::open(std::shared_ptr<Module> module,
                                                       const Module::TokenSlot& token,
                                                       const QByteArray& pin, int maxSessions) {
    std::unique_ptr<SessionPool> pool(new SessionPool(std::move(module), token, maxSessions));
    auto* f = pool->fn();
    CK_SESSION_HANDLE anchor = CK_INVALID_HANDLE;
    CK_RV rv = f->C_OpenSession(token.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                &anchor);
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("opening a session on token '%1'").arg(token.label), rv);
    pool->m_anchor = anchor;
    if (pin.isEmpty())
        return pool;

    // Refuse before trying when the token says a wrong PIN would lock it: the operator, not a
    // program, must decide to spend the last attempt.
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(token.slot, &info) == CKR_OK) {
        if (info.flags & CKF_USER_PIN_LOCKED)
            return Error(
                ErrorCode::EnvironmentNotReady,
                QStringLiteral("the user PIN of token '%1' is locked: the security officer "
                               "must reset it (softhsm2: re-create the dev token)")
                    .arg(token.label));
        if (info.flags & CKF_USER_PIN_FINAL_TRY)
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("token '%1' allows one more PIN attempt before it locks: "
                                        "log in once by hand (pkcs11-tool --login) with the right "
                                        "PIN, then retry")
                             .arg(token.label));
    }
    QByteArray pinCopy = pin; // C_Login takes a non-const pointer
    rv = f->C_Login(anchor, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pinCopy.data()),
                    CK_ULONG(pinCopy.size()));
    pinCopy.fill('\0');
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the HSM rejected the PIN for token '%1' (%2); not retried so "
                                    "the token does not lock: fix [hsm] pin or $KEYLINE_HSM_PIN")
                         .arg(token.label, ckrName(rv)),
                     int(rv));
    if (rv == CKR_PIN_LOCKED)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the user PIN of token '%1' is locked: the security officer "
                                    "must reset it")
                         .arg(token.label),
                     int(rv));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        return p11Error(QStringLiteral("logging in to token '%1'").arg(token.label), rv);
    return pool;
}

SessionPool::~SessionPool() {
    auto* f = fn();
    for (CK_SESSION_HANDLE h : m_idle)
        f->C_CloseSession(h);
    if (m_anchor != CK_INVALID_HANDLE) {
        // Logging out ends the login for everyone in this process using the token, which is
        // what closing the HSM means here.
        f->C_Logout(m_anchor);
        f->C_CloseSession(m_anchor);
    }
}

Result<CK_SESSION_HANDLE> SessionPool::openOne() {
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    const CK_RV rv = fn()->C_OpenSession(m_token.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                         nullptr, &h);
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("opening a session on token '%1'").arg(m_token.label), rv);
    return h;
}

Result<SessionLease> SessionPool::acquire() {
    std::unique_lock lock(m_mutex);
    m_freed.wait(lock, [this] { return !m_idle.empty() || m_open < m_max; });
    if (!m_idle.empty()) {
        const CK_SESSION_HANDLE h = m_idle.back();
        m_idle.pop_back();
        return SessionLease(this, h);
    }
    ++m_open; // reserve the place before unlocking so a racing thread cannot overshoot
    lock.unlock();
    auto h = openOne();
    if (!h.ok()) {
        lock.lock();
        --m_open;
        m_freed.notify_one();
        return std::move(h).error();
    }
    return SessionLease(this, *h);
}

void SessionPool::release(CK_SESSION_HANDLE h, bool broken) {
    if (broken)
        fn()->C_CloseSession(h);
    std::lock_guard lock(m_mutex);
    if (broken)
        --m_open;
    else
        m_idle.push_back(h);
    m_freed.notify_one();
}

int SessionPool::openSessions() const {
    std::lock_guard lock(m_mutex);
    return m_open;
}

} // namespace keyline::hsm
