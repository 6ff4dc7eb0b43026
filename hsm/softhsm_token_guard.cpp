#include "hsm/softhsm_token_guard.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QSaveFile>
#include <QThread>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

namespace keyline::hsm::softhsm {

namespace {

const QString kLive = QStringLiteral("token.object");
const QString kCopy = QStringLiteral("token.object.keyline-copy");

QStringList tokenFolders(const QString& confPath) {
    const QString dir = tokenDirectory(confPath);
    if (dir.isEmpty())
        return {};
    QStringList folders;
    const QDir root(dir);
    for (const QString& name : root.entryList(QDir::Dirs | QDir::NoDotAndDotDot))
        folders << root.filePath(name);
    return folders;
}

Result<QByteArray> readAll(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot read %1: %2").arg(path, f.errorString()));
    return f.readAll();
}

// Atomically: a reader sees the old or the new file, never a part.
Result<void> replace(const QString& path, const QByteArray& bytes) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size() || !f.commit())
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot write %1: %2").arg(path, f.errorString()));
    QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    return success();
}

} // namespace

QString tokenDirectory(const QString& confPath) {
    QFile f(confPath);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    while (!f.atEnd()) {
        const QByteArray line = f.readLine().trimmed();
        if (line.startsWith('#'))
            continue;
        const qsizetype eq = line.indexOf('=');
        if (eq > 0 && line.left(eq).trimmed() == "directories.tokendir")
            return QString::fromUtf8(line.mid(eq + 1).trimmed());
    }
    return {};
}

Result<QStringList> restoreTokenObjects(const QString& confPath) {
    QStringList restored;
    for (const QString& folder : tokenFolders(confPath)) {
        const QDir d(folder);
        const QFileInfo live(d.filePath(kLive)), copy(d.filePath(kCopy));
        if (!copy.exists() || (live.exists() && live.size() >= copy.size()))
            continue;
        KL_TRY_ASSIGN(const QByteArray bytes, readAll(copy.filePath()));
        KL_TRY(replace(live.filePath(), bytes));
        restored << folder;
    }
    return restored;
}

namespace {

// A process killed while saving leaves its temporary file ("token.object.XXXXXX"); one older
// than a minute is nobody's any more.
void removeStaleTemporaries(const QDir& d) {
    const QDateTime old = QDateTime::currentDateTimeUtc().addSecs(-60);
    for (const QFileInfo& f :
         d.entryInfoList({kLive + QStringLiteral(".*"), kCopy + QStringLiteral(".*")}, QDir::Files))
        if (f.fileName() != kCopy && f.lastModified().toUTC() < old)
            QFile::remove(f.filePath());
}

} // namespace

Result<void> keepTokenObjects(const QString& confPath) {
    for (const QString& folder : tokenFolders(confPath)) {
        const QDir d(folder);
        removeStaleTemporaries(d);
        const QFileInfo live(d.filePath(kLive)), copy(d.filePath(kCopy));
        if (!live.exists() || live.size() == 0 || (copy.exists() && live.size() < copy.size()))
            continue;
        KL_TRY_ASSIGN(const QByteArray bytes, readAll(live.filePath()));
        if (copy.exists()) {
            KL_TRY_ASSIGN(const QByteArray kept, readAll(copy.filePath()));
            if (kept == bytes || bytes.size() < kept.size())
                continue;
        }
        KL_TRY(replace(copy.filePath(), bytes));
    }
    return success();
}

Result<TokenFileLock> TokenFileLock::acquire(const QString& confPath,
                                             std::chrono::milliseconds wait) {
    TokenFileLock lock;
    const QString dir = tokenDirectory(confPath);
    if (dir.isEmpty() || !QFileInfo(dir).isDir())
        return lock; // SoftHSM2 itself reports a missing token directory, in its own words
    const QString path = QDir(dir).filePath(QStringLiteral("keyline-token.lock"));
    const QByteArray native = QFile::encodeName(path);
    lock.m_fd = ::open(native.constData(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock.m_fd < 0)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot open the SoftHSM2 token lock %1: %2")
                         .arg(path, QString::fromLocal8Bit(std::strerror(errno))));
    // Polled rather than blocking, so a holder that hangs ends in an error that names it.
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (::flock(lock.m_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("cannot lock %1: %2")
                             .arg(path, QString::fromLocal8Bit(std::strerror(errno))));
        if (std::chrono::steady_clock::now() >= deadline)
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("another process has held the SoftHSM2 token lock %1 "
                                        "for %2 s while opening the token: find it with "
                                        "'fuser %1' and stop it")
                             .arg(path)
                             .arg(wait.count() / 1000));
        QThread::msleep(10);
    }
    return lock;
}

TokenFileLock::TokenFileLock(TokenFileLock&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)) {}

TokenFileLock& TokenFileLock::operator=(TokenFileLock&& other) noexcept {
    if (this != &other) {
        release();
        m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
}

TokenFileLock::~TokenFileLock() {
    release();
}

void TokenFileLock::release() {
    if (m_fd >= 0)
        ::close(m_fd); // closing the only descriptor drops the flock
    m_fd = -1;
}

} // namespace keyline::hsm::softhsm
