#pragma once

// Delivering a device registration to the back-end registry (docs/backend-api.md): the
// interface the outbox sync uses, and its HTTPS implementation with mutual TLS whose client key
// stays in the HSM.

#include "common/result.h"
#include "hsm/key_uri.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <memory>

namespace keyline::hsm {
class Pkcs11Hsm;
struct HsmConfig;
} // namespace keyline::hsm

namespace keyline::provisioning {

struct RegistrationOutcome {
    enum class Kind {
        Registered,        // 201: the back-end has it now
        AlreadyRegistered, // 200: it had it with the same certificate (an earlier try arrived)
        Refused,           // 400, 403, 409, 413, 415: refused for good; a person must look
    };
    Kind kind = Kind::Registered;
    int httpStatus = 0;
    QString reason; // Refused: "HTTP 409 conflict: ... (field certificate)"
};

// The largest answer the station reads from the back-end; more is a malformed answer.
inline constexpr qint64 kMaxBackendAnswerBytes = 64 * 1024;
// The largest device list (`keyline registry list`) it reads: a customer's whole fleet, some
// 300 bytes a device, so 64 KiB would end at about 200 devices.
inline constexpr qint64 kMaxBackendListBytes = 32 * 1024 * 1024;

class RegistrationClient {
public:
    virtual ~RegistrationClient() = default;
    // POST /v1/customers/{customerId}/devices with `bodyJson`. An error means "try again
    // later": detail() is the HTTP status, 0 when no HTTP answer came (EnvironmentNotReady:
    // connection refused, TLS failure, timeout); a malformed, truncated or oversized answer is
    // BadInput naming the problem.
    virtual Result<RegistrationOutcome> registerDevice(const QString& customerId,
                                                       const QByteArray& bodyJson) = 0;
    // GET /v1/whoami: who the back-end thinks this station is ({role, name, customers}).
    virtual Result<QJsonObject> whoami() = 0;
};

// [backend] in keyline.conf (docs/configuration.md).
struct BackendSettings {
    QString url;           // https://host:port; empty: registration disabled
    QString caFile;        // PEM: the CA(s) the back-end's certificate must chain to
    hsm::KeyUri clientKey; // the station's TLS client key (and its certificate) on the token
    int timeoutMs = 10000;
};

// A station-side failure to reach the back-end, as opposed to an answer.
inline bool isUnreachable(const Error& e) {
    return e.code() == ErrorCode::EnvironmentNotReady && e.detail() == 0;
}

// HTTPS client over QNetworkAccessManager on its own thread (callers block; never call it from
// that thread). TLS 1.2 or later, only the configured CA trusted (never the system roots),
// the client certificate and an HSM-backed key, no HTTP/2, no redirects.
class HttpsRegistrationClient final : public RegistrationClient {
public:
    // `caPem`: trust anchors; `clientCertDer` empty and `clientKey` null: no client certificate
    // (tests of the refusal). `clientKey` is an EVP_PKEY* that is taken over.
    static Result<std::unique_ptr<HttpsRegistrationClient>> create(const QString& url,
                                                                   const QByteArray& caPem,
                                                                   const QByteArray& clientCertDer,
                                                                   void* clientKey, int timeoutMs);
    ~HttpsRegistrationClient() override;

    Result<RegistrationOutcome> registerDevice(const QString& customerId,
                                               const QByteArray& bodyJson) override;
    Result<QJsonObject> whoami() override;
    // GET /v1/customers/{customer}/devices[?state=created|bootstrapped]: {customerId, count,
    // devices}, for `keyline registry list`.
    Result<QJsonObject> listDevices(const QString& customer, const QString& state = {});

    // Keeps `owned` alive as long as this client (the HSM identity behind the key).
    void keepAlive(std::shared_ptr<void> owned) { m_owned = std::move(owned); }

    struct Impl;

private:
    explicit HttpsRegistrationClient(std::unique_ptr<Impl> impl);
    // Declared first so it is destroyed last: the network thread and the TLS key go first.
    std::shared_ptr<void> m_owned;
    std::unique_ptr<Impl> m_impl;
};

// The client for [backend]: the CA file, and the client certificate and token-backed key from
// the open HSM (pkcs11-helper, hsm/tls_identity.h). EnvironmentNotReady/BadInput naming the fix.
Result<std::unique_ptr<HttpsRegistrationClient>> openBackendClient(hsm::Pkcs11Hsm& hsm,
                                                                   const hsm::HsmConfig& hsmConfig,
                                                                   const BackendSettings& settings);

} // namespace keyline::provisioning
