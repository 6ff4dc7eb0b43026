// MainWindow's supervisor actions (new order, close order, audit export), apart from the
// screens' wiring in main_window.cpp. Each runs on the worker thread and refuses while a run
// holds the HSM.
#include "ui/attention_banner.h"
#include "ui/audit_view.h"
#include "ui/create_order_dialog.h"
#include "ui/main_window.h"
#include "ui/orders_view.h"
#include "ui/run_controller.h"
#include "ui/station_worker.h"

#include <QMessageBox>

namespace keyline::ui {

void MainWindow::createOrder() {
    if (!canAdminister() || !adminAllowedNow())
        return;
    if (!m_createDialog) {
        m_createDialog = new CreateOrderDialog(this);
        connect(m_createDialog, &CreateOrderDialog::createRequested, this,
                [this](const NewOrderForm& form) {
                    if (!m_user || !adminAllowedNow())
                        return;
                    m_createDialog->setBusy(true);
                    const db::OperatorAccount who = *m_user;
                    m_worker->request<db::Order>(
                        this,
                        [who, form](station::StationContext& context, db::Database& db) {
                            return ui::createOrder(context, db, who, form);
                        },
                        [this](Result<db::Order> created) {
                            m_createDialog->setBusy(false);
                            if (!created) {
                                m_createDialog->showError(created.error().toString());
                                return;
                            }
                            m_createDialog->accept();
                            m_orders->showMessage(tr("Order %1 created.").arg(created->id));
                            refreshOrders();
                            m_orders->select(created->id);
                        });
                });
    }
    m_createDialog->showError(QString());
    m_createDialog->open();
}

void MainWindow::closeOrder(const QString& orderId) {
    if (!canAdminister() || !adminAllowedNow())
        return;
    auto* box = new QMessageBox(QMessageBox::Question, tr("Close order"),
                                tr("Close order %1? It takes no more devices.").arg(orderId),
                                QMessageBox::Yes | QMessageBox::No, this);
    box->setObjectName(QStringLiteral("confirmClose"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::accepted, this, [this, orderId] {
        if (!m_user)
            return;
        const db::OperatorAccount who = *m_user;
        m_worker->request<db::Order>(
            this,
            [who, orderId](station::StationContext& context, db::Database& db) {
                return ui::closeOrder(context, db, who, orderId);
            },
            [this](Result<db::Order> closed) {
                m_orders->showMessage(closed ? tr("Order %1 closed.").arg(closed->id)
                                             : closed.error().toString());
                refreshOrders();
            });
    });
    box->open();
}

void MainWindow::exportAudit(const QString& orderId, const QString& dir) {
    if (!canAdminister())
        return;
    if (m_controller->isActive()) {
        m_audit->showError(tr("stop the run first: it is using the key module"));
        return;
    }
    m_audit->setBusy(true);
    const db::OperatorAccount who = *m_user;
    m_worker->request<AuditExportResult>(
        this,
        [who, orderId, dir](station::StationContext& context, db::Database& db) {
            return exportOrderAudit(context, db, who, orderId, dir);
        },
        [this](Result<AuditExportResult> r) {
            m_audit->setBusy(false);
            if (r)
                m_audit->showResult(*r);
            else
                m_audit->showError(r.error().toString());
        });
}

} // namespace keyline::ui
