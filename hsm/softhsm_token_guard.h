#pragma once

// SoftHSM2 2.6 rewrites each token's token.object in place — truncate, then write — on every
// C_Login, to store its PIN-failure flags. A process killed in between (SIGKILL, power loss)
// leaves the file empty or short, and the token, with the whole development key set, is gone
// ("no token labelled …"). The station therefore keeps a copy of each token.object, refreshed
// after a successful login, and puts it back before the module loads when the live file is
// shorter than the copy. Only for SoftHSM2 (a [hsm] softhsm2_conf); real HSMs keep their own.

#include "common/result.h"

#include <QString>
#include <QStringList>
#include <chrono>

namespace keyline::hsm::softhsm {

// The same rewrite also races between live processes: a station that loads the module while
// another one is logging in reads the half-written token.object and finds no token, or one
// without a label. Keyline processes sharing a token directory therefore load the module and
// log in one at a time, under an advisory lock on a file beside the tokens. The kernel drops
// the lock of a process that dies, so a killed station never blocks the next one.
class TokenFileLock {
public:
    // Waits up to `wait` for the lock of the token directory `confPath` names; holds nothing
    // when the configuration names no token directory.
    static Result<TokenFileLock> acquire(const QString& confPath, std::chrono::milliseconds wait);
    TokenFileLock(TokenFileLock&& other) noexcept;
    TokenFileLock& operator=(TokenFileLock&& other) noexcept;
    TokenFileLock(const TokenFileLock&) = delete;
    TokenFileLock& operator=(const TokenFileLock&) = delete;
    ~TokenFileLock();

    bool held() const { return m_fd >= 0; }
    void release();

private:
    TokenFileLock() = default;
    int m_fd = -1;
};

// The token directory a softhsm2.conf names (directories.tokendir); empty if none.
QString tokenDirectory(const QString& confPath);

// Before C_Initialize: restores every token.object cut short since its copy was taken. The
// token folders restored.
Result<QStringList> restoreTokenObjects(const QString& confPath);

// After a successful login: refreshes each copy from the live file, never with a shorter one
// (a login of another process may be rewriting it right now).
Result<void> keepTokenObjects(const QString& confPath);

} // namespace keyline::hsm::softhsm
