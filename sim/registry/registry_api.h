#pragma once

// The registry's endpoints (docs/backend-api.md) as plain functions of (client identity, method,
// path, body): no sockets here, so the rules can be read in one place and the HTTP layer stays a
// thin adapter. Authorisation comes before anything else is looked at, so a client learns
// nothing about devices it may not see.

#include "sim/registry/client_identity.h"
#include "sim/registry/registry_store.h"

#include <QJsonObject>
#include <QUrlQuery>

namespace keyline::registry {

struct BootstrapSettings {
    QString publicUrl; // https://host:port the devices reach the back-end at
    int telemetryIntervalSeconds = 300;
};

struct ApiRequest {
    QString method; // GET, POST, …
    QString path;
    QUrlQuery query;
    QByteArray contentType; // the Content-Type header, empty if none
    QByteArray body;
    QList<QByteArray> clientChain; // DER, leaf first; empty without a client certificate
};

struct ApiResponse {
    int status = 200;
    QJsonObject body;
    QString location; // for 201: the new record's path
};

class RegistryApi {
public:
    RegistryApi(const IdentityResolver& identities, RegistryStore& store,
                BootstrapSettings settings);

    ApiResponse handle(const ApiRequest& request);
    void setPublicUrl(const QString& url) { m_settings.publicUrl = url; }

private:
    ApiResponse registerDevice(const ClientIdentity& client, const QString& customer,
                               const ApiRequest& request);
    ApiResponse readDevice(const ClientIdentity& client, const QString& customer,
                           const QString& device);
    ApiResponse listDevices(const ClientIdentity& client, const QString& customer,
                            const QUrlQuery& query);
    ApiResponse bootstrap(const ClientIdentity& client, const QString& customer,
                          const QString& device);
    ApiResponse whoami(const ClientIdentity& client) const;

    const IdentityResolver& m_identities;
    RegistryStore& m_store;
    BootstrapSettings m_settings;
};

ApiResponse errorResponse(const ApiError& error);

} // namespace keyline::registry
