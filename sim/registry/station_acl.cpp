#include "sim/registry/station_acl.h"

#include <QFile>
#include <QRegularExpression>
#include <algorithm>

namespace keyline::registry {

bool isValidIdentifier(const QString& text) {
    static const QRegularExpression pattern(QStringLiteral("^[A-Za-z0-9._-]{1,64}\\z"));
    return pattern.match(text).hasMatch();
}

Result<StationAcl> StationAcl::parse(const QByteArray& text) {
    StationAcl acl;
    const QList<QByteArray> lines = text.split('\n');
    for (int i = 0; i < lines.size(); ++i) {
        const QString line = QString::fromUtf8(lines[i]).trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char('#')))
            continue;
        auto bad = [i](const QString& why) {
            return Error(ErrorCode::BadInput, QStringLiteral("line %1: %2").arg(i + 1).arg(why));
        };
        const qsizetype colon = line.indexOf(QLatin1Char(':'));
        if (colon < 0)
            return bad(QStringLiteral("expected \"station-CN: customer1, customer2\""));
        const QString station = line.left(colon).trimmed();
        if (!isValidIdentifier(station))
            return bad(QStringLiteral("station name \"%1\" is not 1-64 of A-Z a-z 0-9 . _ -")
                           .arg(station));
        if (acl.m_customers.contains(station))
            return bad(QStringLiteral("station \"%1\" is listed twice").arg(station));
        QSet<QString> customers;
        const QStringList names = line.mid(colon + 1).split(QLatin1Char(','));
        for (const QString& raw : names) {
            const QString customer = raw.trimmed();
            if (customer.isEmpty() && names.size() == 1)
                break; // "station-03:" serves nobody yet: allowed, and says so explicitly
            if (!isValidIdentifier(customer))
                return bad(QStringLiteral("customer ID \"%1\" is not 1-64 of A-Z a-z 0-9 . _ -")
                               .arg(customer));
            customers.insert(customer);
        }
        acl.m_customers.insert(station, customers);
    }
    return acl;
}

Result<StationAcl> StationAcl::fromFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    return parse(file.readAll()).context(path);
}

bool StationAcl::allows(const QString& station, const QString& customer) const {
    const auto it = m_customers.constFind(station);
    return it != m_customers.constEnd() && it->contains(customer);
}

QStringList StationAcl::customersOf(const QString& station) const {
    QStringList out = m_customers.value(station).values();
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace keyline::registry
