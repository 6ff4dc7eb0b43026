#include "provisioning/registration_client.h"

#include "hsm/pkcs11_hsm.h"
#include "hsm/tls_identity.h"
#include "provisioning/registration_answer.h"

#include <QFile>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QSslConfiguration>
#include <QSslKey>
#include <QThread>
#include <QTimer>
#include <QUrl>
#include <future>
#include <openssl/evp.h>

namespace keyline::provisioning {

namespace {

bool isIdentifier(const QString& s) {
    static const QRegularExpression re(QStringLiteral("^[A-Za-z0-9._-]{1,64}\\z"));
    return re.match(s).hasMatch();
}

// What the reply callbacks share; lives as long as the reply.
struct Exchange {
    qint64 limit = kMaxBackendAnswerBytes; // the most bytes of the answer read
    QByteArray body;
    bool oversized = false;
    bool timedOut = false;
};

} // namespace

struct HttpsRegistrationClient::Impl {
    QUrl base;
    QSslConfiguration tls;
    int timeoutMs = 10000;
    QThread thread;
    QObject* worker = nullptr; // lives on `thread`
    QNetworkAccessManager* manager = nullptr;

    ~Impl() {
        // The manager and its sockets go on their own thread; the worker once that has ended.
        if (worker && thread.isRunning())
            QMetaObject::invokeMethod(
                worker,
                [this] {
                    delete manager;
                    manager = nullptr;
                },
                Qt::BlockingQueuedConnection);
        thread.quit();
        thread.wait();
        delete worker;
    }

    // Runs one request on the network thread and waits for its answer.
    Result<HttpAnswer> exchange(const QByteArray& method, const QString& path,
                                const QByteArray& body, qint64 limit = kMaxBackendAnswerBytes) {
        auto promise = std::make_shared<std::promise<Result<HttpAnswer>>>();
        auto answer = promise->get_future();
        QMetaObject::invokeMethod(
            worker,
            [this, promise, method, path, body, limit] {
                start(promise, method, path, body, limit);
            },
            Qt::QueuedConnection);
        return answer.get();
    }

    void start(std::shared_ptr<std::promise<Result<HttpAnswer>>> promise, const QByteArray& method,
               const QString& path, const QByteArray& body, qint64 limit) {
        if (!manager) {
            manager = new QNetworkAccessManager(worker);
            manager->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
        }
        QUrl url = base;
        url.setPath(path.section(QLatin1Char('?'), 0, 0));
        if (path.contains(QLatin1Char('?')))
            url.setQuery(path.section(QLatin1Char('?'), 1));
        QNetworkRequest request(url);
        request.setSslConfiguration(tls);
        request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
        request.setRawHeader("Accept", "application/json");
        if (method == "POST")
            request.setHeader(QNetworkRequest::ContentTypeHeader,
                              QByteArrayLiteral("application/json"));
        QNetworkReply* reply = method == "GET" ? manager->get(request)
                                               : manager->sendCustomRequest(request, method, body);
        auto ex = std::make_shared<Exchange>();
        ex->limit = limit;
        auto* timer = new QTimer(reply);
        timer->setSingleShot(true);
        QObject::connect(timer, &QTimer::timeout, reply, [reply, ex] {
            ex->timedOut = true;
            reply->abort();
        });
        timer->start(timeoutMs);
        QObject::connect(reply, &QNetworkReply::metaDataChanged, reply, [reply, ex] {
            const QVariant length = reply->header(QNetworkRequest::ContentLengthHeader);
            if (length.isValid() && length.toLongLong() > ex->limit) {
                ex->oversized = true;
                reply->abort();
            }
        });
        QObject::connect(reply, &QNetworkReply::readyRead, reply, [reply, ex] {
            ex->body += reply->read(ex->limit + 1 - ex->body.size());
            if (ex->body.size() > ex->limit) {
                ex->oversized = true;
                reply->abort();
            }
        });
        const QString what = QString::fromLatin1(method) + QLatin1Char(' ') + url.toString();
        QObject::connect(reply, &QNetworkReply::finished, reply, [this, reply, ex, promise, what] {
            promise->set_value(conclude(reply, *ex, what));
            reply->deleteLater();
        });
    }

    Result<HttpAnswer> conclude(QNetworkReply* reply, Exchange& ex, const QString& what) const {
        HttpAnswer a;
        a.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        a.contentType = reply->header(QNetworkRequest::ContentTypeHeader).toString();
        if (!ex.oversized && ex.body.size() <= ex.limit)
            ex.body += reply->read(ex.limit + 1 - ex.body.size());
        if (ex.oversized || ex.body.size() > ex.limit)
            return Error(ErrorCode::BadInput,
                         QStringLiteral("oversized answer to %1 (HTTP %2): more than %3 bytes, "
                                        "not read")
                             .arg(what)
                             .arg(a.status)
                             .arg(ex.limit),
                         a.status);
        if (ex.timedOut)
            return a.status == 0
                       ? Error(ErrorCode::EnvironmentNotReady,
                               QStringLiteral("no answer to %1 within %2 ms: check the back-end "
                                              "and [backend] url")
                                   .arg(what)
                                   .arg(timeoutMs))
                       : Error(ErrorCode::BadInput,
                               QStringLiteral("truncated answer to %1 (HTTP %2): body not "
                                              "complete after %3 ms")
                                   .arg(what)
                                   .arg(a.status)
                                   .arg(timeoutMs),
                               a.status);
        const int e = int(reply->error());
        // 201-299 and 401-499 are Qt's names for HTTP statuses; anything else is the transport.
        const bool httpStatusError = (e >= 201 && e <= 299) || (e >= 401 && e <= 499);
        if (e != 0 && !httpStatusError) {
            if (a.status != 0)
                return Error(ErrorCode::BadInput,
                             QStringLiteral("truncated answer to %1 (HTTP %2): %3")
                                 .arg(what)
                                 .arg(a.status)
                                 .arg(reply->errorString()),
                             a.status);
            if (e >= 301 && e <= 399)
                return Error(ErrorCode::BadInput,
                             QStringLiteral("malformed answer to %1: not HTTP (%2)")
                                 .arg(what, reply->errorString()),
                             -1);
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("cannot reach the back-end for %1: %2 (check that it "
                                        "runs, [backend] url, ca_file and the station "
                                        "certificate)")
                             .arg(what, reply->errorString()));
        }
        if (a.status < 100 || a.status > 599)
            return Error(ErrorCode::BadInput,
                         QStringLiteral("malformed answer to %1: no valid HTTP status").arg(what),
                         -1);
        a.body = ex.body;
        return a;
    }
};

HttpsRegistrationClient::HttpsRegistrationClient(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl)) {}

HttpsRegistrationClient::~HttpsRegistrationClient() = default;

Result<std::unique_ptr<HttpsRegistrationClient>>
HttpsRegistrationClient::create(const QString& url, const QByteArray& caPem,
                                const QByteArray& clientCertDer, void* clientKey, int timeoutMs) {
    // Take the key over first, so every error path below frees it.
    const QSslKey key = clientKey ? QSslKey(Qt::HANDLE(clientKey), QSsl::PrivateKey) : QSslKey();
    const QUrl base(url, QUrl::StrictMode);
    if (!base.isValid() || base.scheme() != QLatin1String("https") || base.host().isEmpty() ||
        (!base.path().isEmpty() && base.path() != QLatin1String("/")) || base.hasQuery())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("[backend] url must be https://HOST[:PORT], not '%1'")
                         .arg(url.left(200)));
    const QList<QSslCertificate> cas = QSslCertificate::fromData(caPem, QSsl::Pem);
    if (cas.isEmpty())
        return Error(ErrorCode::BadInput,
                     QStringLiteral("[backend] ca_file holds no PEM certificate"));
    auto impl = std::make_unique<Impl>();
    impl->base = base;
    impl->timeoutMs = timeoutMs;
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setProtocol(QSsl::TlsV1_2OrLater);
    tls.setPeerVerifyMode(QSslSocket::VerifyPeer);
    tls.setCaCertificates(cas); // only these: never the system roots
    if (!clientCertDer.isEmpty()) {
        const QSslCertificate cert(clientCertDer, QSsl::Der);
        if (cert.isNull())
            return Error(ErrorCode::BadInput,
                         QStringLiteral("the station's TLS client certificate does not parse"));
        if (key.isNull())
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("Qt does not accept the HSM-backed key handle (needs "
                                        "Qt's OpenSSL TLS backend)"));
        tls.setLocalCertificate(cert);
        tls.setPrivateKey(key);
    }
    impl->tls = tls;
    impl->worker = new QObject;
    impl->worker->moveToThread(&impl->thread);
    impl->thread.setObjectName(QStringLiteral("keyline-backend"));
    impl->thread.start();
    return std::unique_ptr<HttpsRegistrationClient>(new HttpsRegistrationClient(std::move(impl)));
}

Result<RegistrationOutcome> HttpsRegistrationClient::registerDevice(const QString& customerId,
                                                                    const QByteArray& bodyJson) {
    RegistrationOutcome refused;
    refused.kind = RegistrationOutcome::Kind::Refused;
    const QString deviceId =
        QJsonDocument::fromJson(bodyJson).object().value(QStringLiteral("deviceId")).toString();
    if (!isIdentifier(customerId) || !isIdentifier(deviceId)) {
        refused.reason = QStringLiteral("the outbox entry is not a valid registration (customer "
                                        "or device ID); not sent");
        return refused;
    }
    const QString what = QStringLiteral("the registration of %1").arg(deviceId);
    KL_TRY_ASSIGN(const HttpAnswer a,
                  m_impl->exchange("POST",
                                   QStringLiteral("/v1/customers/%1/devices").arg(customerId),
                                   bodyJson));
    return registrationOutcome(a, deviceId, what);
}

Result<QJsonObject> HttpsRegistrationClient::whoami() {
    const QString what = QStringLiteral("GET /v1/whoami");
    KL_TRY_ASSIGN(const HttpAnswer a, m_impl->exchange("GET", QStringLiteral("/v1/whoami"), {}));
    return whoamiAnswer(a, what);
}

Result<QJsonObject> HttpsRegistrationClient::listDevices(const QString& customer,
                                                         const QString& state) {
    if (!isIdentifier(customer))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("'%1' is not a customer ID").arg(customer.left(64)));
    QString path = QStringLiteral("/v1/customers/%1/devices").arg(customer);
    if (!state.isEmpty())
        path += QStringLiteral("?state=") + QString::fromLatin1(QUrl::toPercentEncoding(state));
    const QString what = QStringLiteral("GET ") + path;
    KL_TRY_ASSIGN(const HttpAnswer a, m_impl->exchange("GET", path, {}, kMaxBackendListBytes));
    return deviceListAnswer(a, what);
}

Result<std::unique_ptr<HttpsRegistrationClient>>
openBackendClient(hsm::Pkcs11Hsm& hsm, const hsm::HsmConfig& hsmConfig,
                  const BackendSettings& settings) {
    if (settings.url.isEmpty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("no back-end configured: set [backend] url in keyline.conf"));
    QFile ca(settings.caFile);
    if (settings.caFile.isEmpty() || !ca.open(QIODevice::ReadOnly))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot read [backend] ca_file '%1': set it to the PEM of the "
                                    "CA the back-end's certificate chains to")
                         .arg(settings.caFile));
    const QByteArray caPem = ca.read(1024 * 1024);
    KL_TRY_ASSIGN(
        std::unique_ptr<hsm::TlsClientIdentity> identity,
        hsm::TlsClientIdentity::open(hsm, hsmConfig.modulePath, hsmConfig.pin, settings.clientKey));
    EVP_PKEY* key = identity->newPrivateKey();
    if (!key)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("pkcs11-helper gives no OpenSSL key for '%1'")
                         .arg(settings.clientKey.object));
    auto client = HttpsRegistrationClient::create(settings.url, caPem, identity->certificateDer(),
                                                  key, settings.timeoutMs);
    if (!client)
        return Error(client.error()).context(QStringLiteral("[backend] %1").arg(settings.url));
    (*client)->keepAlive(std::shared_ptr<hsm::TlsClientIdentity>(std::move(identity)));
    return client;
}

} // namespace keyline::provisioning
