#include "sim/shared_key_file.h"

#include "sim/atomic_file.h"
#include "sim/ossl.h"

#include <QFile>

namespace keyline::sim {

Result<QByteArray> SharedKeyFile::privateKeyPem() {
    std::lock_guard lock(m_mutex);
    if (QFile::exists(m_path))
        return readWholeFile(m_path);
    KL_TRY_ASSIGN(ossl::Pkey key, ossl::generateP256());
    KL_TRY_ASSIGN(QByteArray pem, ossl::privateKeyPem(key.get()));
    KL_TRY(writeFileAtomically(m_path, pem, true));
    return pem;
}

} // namespace keyline::sim
