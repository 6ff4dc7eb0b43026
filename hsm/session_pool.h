#pragma once

#include "hsm/module.h"

#include <condition_variable>
#include <mutex>

namespace keyline::hsm {

class SessionPool;

// A session lent to one thread. PKCS#11 sessions are not to be used by two threads at once;
// the lease makes that structural. Returned to the pool when it goes out of scope.
class SessionLease {
public:
    SessionLease(SessionLease&& other) noexcept;
    SessionLease& operator=(SessionLease&&) = delete;
    SessionLease(const SessionLease&) = delete;
    ~SessionLease();

    CK_SESSION_HANDLE handle() const { return m_handle; }
    CK_FUNCTION_LIST* fn() const;
    // After an answer such as CKR_SESSION_HANDLE_INVALID: the session is closed, not reused.
    void markBroken() { m_broken = true; }
    // Marks the lease broken if `rv` says the session is gone; returns rv for chaining.
    CK_RV check(CK_RV rv);

private:
    friend class SessionPool;
    SessionLease(SessionPool* pool, CK_SESSION_HANDLE h)
        : m_pool(pool)
        , m_handle(h) {}
    SessionPool* m_pool;
    CK_SESSION_HANDLE m_handle;
    bool m_broken = false;
};

// Read-write user sessions on one token, opened on demand up to `maxSessions`, so parallel
// slots can sign at the same time. The token is logged in exactly once, on the first session:
// PKCS#11 login state belongs to the application, so every later session shares it, and one
// session is always kept open so the login is never lost. A wrong PIN is tried once only.
class SessionPool {
public:
    // `pin` is used for the one login and not kept. Empty `pin`: no login (public objects only).
    static Result<std::unique_ptr<SessionPool>> open(std::shared_ptr<Module> module,
                                                     const Module::TokenSlot& token,
                                                     const QByteArray& pin, int maxSessions = 8);
    ~SessionPool();

    // Waits while `maxSessions` leases are out.
    Result<SessionLease> acquire();

    CK_FUNCTION_LIST* fn() const { return m_module->fn(); }
    const std::shared_ptr<Module>& module() const { return m_module; }
    const Module::TokenSlot& token() const { return m_token; }
    int openSessions() const;

private:
    friend class SessionLease;
    SessionPool(std::shared_ptr<Module> module, Module::TokenSlot token, int maxSessions);
    Result<CK_SESSION_HANDLE> openOne();
    void release(CK_SESSION_HANDLE h, bool broken);

    std::shared_ptr<Module> m_module;
    Module::TokenSlot m_token;
    int m_max;
    mutable std::mutex m_mutex;
    std::condition_variable m_freed;
    std::vector<CK_SESSION_HANDLE> m_idle;
    int m_open = 0;
    CK_SESSION_HANDLE m_anchor = CK_INVALID_HANDLE; // holds the login; never lent
};

} // namespace keyline::hsm
