#include "db/audit_entry.h"

#include <QCryptographicHash>

namespace keyline::db {

QByteArray canonicalAuditEncoding(const AuditEntry& entry) {
    QByteArray out("keyline-audit-v1\n");
    auto field = [&out](const QString& value) {
        const QByteArray bytes = value.toUtf8();
        out += QByteArray::number(bytes.size());
        out += ':';
        out += bytes;
        out += '\n';
    };
    field(QString::number(entry.seq));
    field(entry.time);
    field(entry.stationId);
    field(entry.operatorName);
    field(entry.orderId);
    field(entry.event);
    field(entry.details);
    field(entry.prevHash);
    field(entry.orderPrevHash);
    return out;
}

QString computeAuditHash(const AuditEntry& entry) {
    return QString::fromLatin1(
        QCryptographicHash::hash(canonicalAuditEncoding(entry), QCryptographicHash::Sha256)
            .toHex());
}

bool isPlainAuditText(const QString& text) {
    for (QChar c : text)
        if (c.category() == QChar::Other_Control || c == QChar::LineSeparator ||
            c == QChar::ParagraphSeparator)
            return false;
    return true;
}

} // namespace keyline::db
