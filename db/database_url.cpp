#include "db/database_url.h"

#include <QUrl>
#include <QUrlQuery>

namespace keyline::db {

namespace {

Error badUrl(const QString& why) {
    return Error(ErrorCode::BadInput, QStringLiteral("database URL: %1").arg(why));
}

// libpq connection keywords a station may need; anything else is a typo or an attempt to
// smuggle a password in.
const QStringList& allowedQueryKeys() {
    static const QStringList keys = {
        QStringLiteral("sslmode"),         QStringLiteral("sslrootcert"),
        QStringLiteral("sslcert"),         QStringLiteral("sslkey"),
        QStringLiteral("sslcrl"),          QStringLiteral("application_name"),
        QStringLiteral("connect_timeout"), QStringLiteral("target_session_attrs"),
    };
    return keys;
}

} // namespace

Result<DatabaseOptions> databaseOptionsFromUrl(const QString& text) {
    const QUrl url(text, QUrl::StrictMode);
    if (!url.isValid())
        return badUrl(QStringLiteral("not a valid URL: %1").arg(url.errorString()));
    if (url.scheme() != QLatin1String("postgresql") && url.scheme() != QLatin1String("postgres"))
        return badUrl(QStringLiteral("scheme \"%1\" is not supported: use postgresql://user@host"
                                     ":port/dbname, or [database] path for SQLite")
                          .arg(url.scheme()));
    if (!url.password().isEmpty())
        return badUrl(QStringLiteral("holds a password: put it in a PGPASSFILE (see "
                                     "docs/deployment.md), never in the configuration"));
    DatabaseOptions options;
    options.driver = QStringLiteral("QPSQL");
    options.host = url.host();
    options.user = url.userName();
    const int port = url.port(5432);
    if (port < 1 || port > 65535)
        return badUrl(QStringLiteral("port must be 1 to 65535"));
    options.port = port;
    options.name = url.path().mid(1);
    if (options.name.isEmpty() || options.name.contains(QLatin1Char('/')))
        return badUrl(QStringLiteral("needs the database name as its path: "
                                     "postgresql://user@host:port/dbname"));
    QStringList connect;
    const auto items = QUrlQuery(url).queryItems(QUrl::FullyDecoded);
    for (const auto& [key, value] : items) {
        if (!allowedQueryKeys().contains(key))
            return badUrl(QStringLiteral("\"%1\" is not a supported connection option (use %2)")
                              .arg(key, allowedQueryKeys().join(QStringLiteral(", "))));
        if (value.isEmpty() || value.contains(QLatin1Char(';')) ||
            value.contains(QLatin1Char(' ')) || value.contains(QLatin1Char('\'')))
            return badUrl(QStringLiteral("option %1 needs a value without spaces, quotes or "
                                         "';'")
                              .arg(key));
        connect << key + QLatin1Char('=') + value;
    }
    options.connectOptions = connect.join(QLatin1Char(';'));
    return options;
}

} // namespace keyline::db
