#include "metrics/textfile.h"

#include <QFileDevice>
#include <QSaveFile>

namespace keyline::metrics {

Result<void> writeTextfile(const QString& path, const QByteArray& exposition) {
    // QSaveFile writes <path>.XXXXXX beside the target and renames it on commit().
    QSaveFile file(path);
    auto failed = [&](const QString& what) {
        return Error(ErrorCode::Io, QStringLiteral("metrics textfile %1: %2: %3; fix [metrics] "
                                                   "textfile or the directory's permissions")
                                        .arg(path, what, file.errorString()));
    };
    if (!file.open(QIODevice::WriteOnly))
        return failed(QStringLiteral("cannot create"));
    // Dashboards read it as another user (node_exporter): the metrics hold nothing secret.
    file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup |
                        QFileDevice::ReadOther);
    if (file.write(exposition) != exposition.size())
        return failed(QStringLiteral("cannot write"));
    if (!file.commit())
        return failed(QStringLiteral("cannot replace"));
    return success();
}

} // namespace keyline::metrics
