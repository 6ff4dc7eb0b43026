#pragma once

// An answer the registry gives instead of the requested resource: the HTTP status and the JSON
// body {"error": code, "message": text[, "field": name]} of docs/backend-api.md. Handlers return
// it as a value so that every refusal is spelled out in one place and looks the same on the wire.

#include <QString>

namespace keyline::registry {

struct ApiError {
    int status = 500;
    QString code;    // stable, machine-readable: "bad-field", "forbidden", …
    QString message; // one line for a person, naming what is wrong
    QString field;   // the offending request field, empty if none
};

inline ApiError badField(const QString& field, const QString& why) {
    return {400, QStringLiteral("bad-field"), QStringLiteral("%1: %2").arg(field, why), field};
}

inline ApiError forbidden(const QString& why) {
    return {403, QStringLiteral("forbidden"), why, {}};
}

} // namespace keyline::registry
