#pragma once

// Every time the database stores is UTC, ISO 8601 with milliseconds ("2024-05-01T12:00:00.123Z"):
// it sorts as text, reads the same in SQLite and PostgreSQL, and is what the audit hash covers.

#include <QDateTime>
#include <QString>

namespace keyline::db {

inline QString toTimestamp(const QDateTime& time) {
    return time.toUTC().toString(Qt::ISODateWithMs);
}

inline QString timestampNow() {
    return toTimestamp(QDateTime::currentDateTimeUtc());
}

inline QDateTime fromTimestamp(const QString& text) {
    return QDateTime::fromString(text, Qt::ISODateWithMs);
}

} // namespace keyline::db
