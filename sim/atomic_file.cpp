#include "sim/atomic_file.h"

#include <QFile>
#include <QFileInfo>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keyline::sim {
namespace {

Error ioError(const QString& what, const QString& path, int err) {
    return Error(ErrorCode::Io, QStringLiteral("%1 %2: %3").arg(what, path, systemErrorText(err)));
}

// Puts `temp` in the place of `target` atomically. Exchanging the two names, not renaming,
// keeps both inodes: the temp file then holds the previous version and is reused by the next
// write, so a device that saves its state a dozen times per provisioning allocates no inode
// and frees none (ext4's allocator slows down with every recently freed inode). Falls back to
// rename where the target does not exist yet or the file system cannot exchange.
bool replaceKeepingTemp(const QByteArray& temp, const QByteArray& target) {
    if (::renameat2(AT_FDCWD, temp.constData(), AT_FDCWD, target.constData(), RENAME_EXCHANGE) == 0)
        return true;
    if (errno != ENOENT && errno != EINVAL && errno != ENOSYS)
        return false;
    return ::rename(temp.constData(), target.constData()) == 0;
}

} // namespace

QString systemErrorText(int err) {
    return QString::fromLocal8Bit(strerror(err));
}

Result<void> syncDirectory(const QString& directory) {
    int fd = ::open(QFile::encodeName(directory).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ioError(QStringLiteral("cannot open directory"), directory, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0)
        return ioError(QStringLiteral("cannot sync directory"), directory, err);
    return success();
}

Result<void> writeFileAtomically(const QString& path, const QByteArray& bytes, bool privateFile,
                                 Durability durability) {
    const QString temp = path + QStringLiteral(".tmp");
    const QByteArray tempName = QFile::encodeName(temp);
    int fd = ::open(tempName.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    privateFile ? 0600 : 0644);
    if (fd < 0)
        return ioError(QStringLiteral("cannot create"), temp, errno);
    // The temp file may be the previous version (see replaceKeepingTemp): its mode is reset.
    if (::fchmod(fd, privateFile ? 0600 : 0644) != 0) {
        int err = errno;
        ::close(fd);
        return ioError(QStringLiteral("cannot set the mode of"), temp, err);
    }
    const char* p = bytes.constData();
    qsizetype left = bytes.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, size_t(left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = errno;
            ::close(fd);
            ::unlink(tempName.constData());
            return ioError(QStringLiteral("cannot write"), temp, err);
        }
        p += n;
        left -= n;
    }
    if (durability == Durability::Host && ::fsync(fd) != 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tempName.constData());
        return ioError(QStringLiteral("cannot sync"), temp, err);
    }
    ::close(fd);
    if (!replaceKeepingTemp(tempName, QFile::encodeName(path))) {
        int err = errno;
        ::unlink(tempName.constData());
        return ioError(QStringLiteral("cannot replace"), path, err);
    }
    if (durability == Durability::Process)
        return success();
    return syncDirectory(QFileInfo(path).absolutePath());
}

Result<QByteArray> readWholeFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(file.exists() ? ErrorCode::Io : ErrorCode::NotFound,
                     QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    return file.readAll();
}

} // namespace keyline::sim
