// keyline-registry: the reference back-end device registry, over mutual TLS. Stations register
// devices they provisioned; devices bootstrap themselves with their own certificate. API, auth
// rules and the station ACL format: docs/backend-api.md.
#include "sim/registry/client_identity.h"
#include "sim/registry/registry_api.h"
#include "sim/registry/registry_server.h"
#include "sim/registry/registry_store.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QSaveFile>
#include <QSocketNotifier>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

using namespace keyline;
using namespace keyline::registry;

namespace {

constexpr const char* kDescription =
    R"HELP(Reference back-end device registry over HTTPS with client certificates required
(TLS 1.2 or later). Stations register the devices they provisioned; a device bootstraps itself
with its own certificate and receives its configuration. API: docs/backend-api.md.

Clients:
  station  certificate subject OU=station, CN=<station name>, EC P-256, issued under
           --station-ca (or, without it, under --device-ca). The station ACL names the
           customers each station serves; any other customer's path answers 403.
  device   certificate subject O=<customer>, OU=dev|prod, CN=<device ID>, issued under
           --device-ca; it may only read and bootstrap itself.

Station ACL file (--station-acl), one station per line, '#' starts a comment:
  station-01: acme, globex
  station-02: acme

Endpoints (the customer ID is the first part of every path):
  POST /v1/customers/{customer}/devices                      register (station)
  GET  /v1/customers/{customer}/devices[?state=created]      list (station)
  GET  /v1/customers/{customer}/devices/{deviceId}           read (station, the device)
  POST /v1/customers/{customer}/devices/{deviceId}/bootstrap bootstrap (the device itself)
  GET  /v1/whoami                                            who the registry thinks you are

Example:
  keyline-registry --listen 127.0.0.1:8443 --cert server.pem --key server.key \
      --device-ca device-root.pem --station-acl stations.acl --db ~/registry.db
  curl --cert station.pem --key station.key --cacert server-ca.pem \
      https://127.0.0.1:8443/v1/customers/acme/devices
Prints "ready https://HOST:PORT" when listening (--listen 127.0.0.1:0 picks a free port).
Stop with SIGTERM or Ctrl-C.)HELP";

struct Flags {
    QCommandLineOption listen{QStringLiteral("listen"),
                              QStringLiteral("Address and port, e.g. 127.0.0.1:8443 or [::1]:0 "
                                             "(required)."),
                              QStringLiteral("HOST:PORT")};
    QCommandLineOption cert{QStringLiteral("cert"),
                            QStringLiteral("Server certificate PEM, leaf first (required)."),
                            QStringLiteral("PEM")};
    QCommandLineOption key{QStringLiteral("key"),
                           QStringLiteral("Server private key PEM, unencrypted (required)."),
                           QStringLiteral("KEY")};
    QCommandLineOption deviceCa{QStringLiteral("device-ca"),
                                QStringLiteral("Device root CA PEM; may also hold the stations' "
                                               "issuing CAs (required)."),
                                QStringLiteral("PEM")};
    QCommandLineOption stationCa{QStringLiteral("station-ca"),
                                 QStringLiteral("CA PEM that issues station certificates (default: "
                                                "the device CA)."),
                                 QStringLiteral("PEM")};
    QCommandLineOption stationAcl{QStringLiteral("station-acl"),
                                  QStringLiteral("Which customers each station serves "
                                                 "(required)."),
                                  QStringLiteral("FILE")};
    QCommandLineOption db{QStringLiteral("db"),
                          QStringLiteral("SQLite file of the registry, created if missing "
                                         "(required)."),
                          QStringLiteral("FILE")};
    QCommandLineOption readyFile{QStringLiteral("ready-file"),
                                 QStringLiteral("Also write the https URL to FILE when ready."),
                                 QStringLiteral("FILE")};
    QCommandLineOption publicUrl{QStringLiteral("public-url"),
                                 QStringLiteral("Base URL devices are told in their bootstrap "
                                                "configuration (default: the listen URL)."),
                                 QStringLiteral("URL")};
};

int usage(const QString& message) {
    fprintf(stderr, "keyline-registry: %s\nTry keyline-registry --help.\n", qPrintable(message));
    return 2;
}

int failed(const Error& error) {
    fprintf(stderr, "keyline-registry: %s\n", qPrintable(error.toString()));
    return exitCodeFor(error.code());
}

void logLine(const QString& line) {
    fprintf(stderr, "%s keyline-registry: %s\n",
            qPrintable(QDateTime::currentDateTimeUtc().toString(Qt::ISODate)), qPrintable(line));
}

struct Listen {
    QString host; // as given, for the URL
    QHostAddress address;
    quint16 port = 0;
};

Result<Listen> parseListen(const QString& text) {
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    auto bad = [&text]() {
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("--listen needs HOST:PORT with HOST an IP address or "
                                    "localhost, not \"%1\"")
                         .arg(text));
    };
    if (colon <= 0)
        return bad();
    Listen l;
    l.host = text.left(colon);
    bool ok = false;
    const uint port = text.mid(colon + 1).toUInt(&ok);
    if (!ok || port > 65535)
        return bad();
    l.port = static_cast<quint16>(port);
    QString bare = l.host;
    if (bare.startsWith(QLatin1Char('[')) && bare.endsWith(QLatin1Char(']')))
        bare = bare.mid(1, bare.size() - 2);
    if (bare == QLatin1String("localhost"))
        l.address = QHostAddress(QHostAddress::LocalHost);
    else if (!l.address.setAddress(bare))
        return bad();
    return l;
}

// Everything the server needs from the command line, loaded and checked before listening.
struct Setup {
    Listen listen;
    TlsSettings tls;
    std::unique_ptr<IdentityResolver> identities;
    QString dbPath;
    QString readyFile;
    QString publicUrl;
};

Result<Setup> setupFrom(const QCommandLineParser& parser, const Flags& f) {
    for (const QCommandLineOption* required :
         {&f.listen, &f.cert, &f.key, &f.deviceCa, &f.stationAcl, &f.db})
        if (!parser.isSet(*required))
            return Error(ErrorCode::InvalidArgument,
                         QStringLiteral("--%1 is required").arg(required->names().constFirst()));
    Setup s;
    KL_TRY_ASSIGN(s.listen, parseListen(parser.value(f.listen)));
    KL_TRY_ASSIGN(s.tls, loadServerTls(parser.value(f.cert), parser.value(f.key)));
    auto deviceCa = CertificateVerifier::fromPemFile(parser.value(f.deviceCa));
    if (!deviceCa)
        return Error(ErrorCode::InvalidArgument, std::move(deviceCa).error().toString())
            .context(QStringLiteral("--device-ca"));
    std::optional<CertificateVerifier> stationCa;
    if (parser.isSet(f.stationCa)) {
        auto loaded = CertificateVerifier::fromPemFile(parser.value(f.stationCa));
        if (!loaded)
            return Error(ErrorCode::InvalidArgument, std::move(loaded).error().toString())
                .context(QStringLiteral("--station-ca"));
        stationCa = std::move(*loaded);
    }
    auto acl = StationAcl::fromFile(parser.value(f.stationAcl));
    if (!acl)
        return Error(ErrorCode::InvalidArgument, std::move(acl).error().toString())
            .context(QStringLiteral("--station-acl"));
    s.identities = std::make_unique<IdentityResolver>(std::move(*deviceCa), std::move(stationCa),
                                                      std::move(*acl));
    const QList<QByteArray> cas = s.identities->tlsCaCertificates();
    for (const QByteArray& der : cas)
        s.tls.clientCas.append(QSslCertificate(der, QSsl::Der));
    s.dbPath = parser.value(f.db);
    s.readyFile = parser.value(f.readyFile);
    s.publicUrl = parser.value(f.publicUrl);
    return s;
}

// SIGTERM and SIGINT arrive on a descriptor the event loop watches, so stopping is an ordinary
// event: the server closes, the database connection closes, main returns.
Result<int> signalDescriptor() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot block SIGTERM"));
    const int fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        return Error(ErrorCode::Internal, QStringLiteral("signalfd failed"));
    return fd;
}

} // namespace

int main(int argc, char* argv[]) {
    // Before QCoreApplication, so that every thread Qt starts inherits the blocked signals.
    auto signalFd = signalDescriptor();
    if (!signalFd)
        return failed(signalFd.error());
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("keyline-registry"));
    QCoreApplication::setApplicationVersion(QStringLiteral(KEYLINE_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QString::fromUtf8(kDescription));
    parser.addHelpOption();
    parser.addVersionOption();
    Flags f;
    parser.addOptions({f.listen, f.cert, f.key, f.deviceCa, f.stationCa, f.stationAcl, f.db,
                       f.readyFile, f.publicUrl});
    if (!parser.parse(QCoreApplication::arguments()))
        return usage(parser.errorText());
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty())
        return usage(QStringLiteral("unexpected argument \"%1\"")
                         .arg(parser.positionalArguments().constFirst()));
    auto setup = setupFrom(parser, f);
    if (!setup)
        return usage(setup.error().toString());

    auto store = RegistryStore::open(setup->dbPath);
    if (!store)
        return failed(store.error());
    RegistryApi api(*setup->identities, **store, BootstrapSettings{});
    RegistryServer server(api, logLine);
    auto port = server.start(setup->listen.address, setup->listen.port, setup->tls);
    if (!port)
        return failed(port.error());
    const QString url = QStringLiteral("https://%1:%2").arg(setup->listen.host).arg(*port);
    // Known only now when --listen asked for port 0.
    api.setPublicUrl(setup->publicUrl.isEmpty() ? url : setup->publicUrl);

    if (!setup->readyFile.isEmpty()) {
        QSaveFile ready(setup->readyFile);
        if (!ready.open(QIODevice::WriteOnly) || ready.write(url.toUtf8() + '\n') < 0 ||
            !ready.commit())
            return failed(
                Error(ErrorCode::Io,
                      QStringLiteral("cannot write --ready-file %1").arg(setup->readyFile)));
    }
    QSocketNotifier stopper(*signalFd, QSocketNotifier::Read);
    QObject::connect(&stopper, &QSocketNotifier::activated, &app, [&app, fd = *signalFd] {
        signalfd_siginfo info{};
        if (read(fd, &info, sizeof info) == sizeof info)
            logLine(QStringLiteral("signal %1: stopping").arg(info.ssi_signo));
        app.quit();
    });
    logLine(QStringLiteral("client certificates verified against %1 CA certificates; database %2")
                .arg(setup->tls.clientCas.size())
                .arg(setup->dbPath));
    fprintf(stdout, "ready %s\n", qPrintable(url));
    fflush(stdout);
    const int code = QCoreApplication::exec();
    close(*signalFd);
    fprintf(stdout, "stopped\n");
    return code;
}
