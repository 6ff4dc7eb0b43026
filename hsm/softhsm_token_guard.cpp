#include "hsm/softhsm_token_guard.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QSaveFile>

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

} // namespace keyline::hsm::softhsm
