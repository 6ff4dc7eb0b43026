#pragma once

// Which customers each station may register and read devices for. The file is the simplest
// thing an administrator can edit and review (docs/backend-api.md, "Station ACL"):
//
//   # comment
//   station-01: acme, globex
//   station-02: acme
//
// One station per line, its certificate's subject CN, a colon, a comma-separated list of
// customer IDs. A station absent from the file serves no customer.

#include "common/result.h"

#include <QHash>
#include <QSet>
#include <QString>

namespace keyline::registry {

// Station names and customer IDs: 1–64 of A-Z a-z 0-9 . _ - (docs/certificate-profile.md).
bool isValidIdentifier(const QString& text);

class StationAcl {
public:
    // BadInput naming the line for a malformed line, a bad identifier or a repeated station.
    static Result<StationAcl> parse(const QByteArray& text);
    static Result<StationAcl> fromFile(const QString& path);

    bool allows(const QString& station, const QString& customer) const;
    QStringList customersOf(const QString& station) const;
    int stationCount() const { return static_cast<int>(m_customers.size()); }

private:
    QHash<QString, QSet<QString>> m_customers;
};

} // namespace keyline::registry
