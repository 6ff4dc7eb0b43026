#include "ui/orders_view.h"

#include "ui/order_table_model.h"
#include "ui/station_style.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace keyline::ui {

OrdersView::OrdersView(QWidget* parent)
    : QWidget(parent)
    , m_model(new OrderTableModel(this))
    , m_table(new QTableView(this))
    , m_run(new QPushButton(tr("Run this order"), this))
    , m_refresh(new QPushButton(tr("Refresh"), this))
    , m_create(new QPushButton(tr("New order…"), this))
    , m_close(new QPushButton(tr("Close order"), this))
    , m_message(new QLabel(this))
    , m_empty(new QLabel(tr("No open order. A supervisor creates one."), this)) {
    setObjectName(QStringLiteral("ordersView"));
    auto* title = new QLabel(tr("Pick an order"), this);
    setStyleRole(title, QStringLiteral("title"));

    m_table->setObjectName(QStringLiteral("orderTable"));
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(60);
    m_table->setIconSize(QSize(28, 28));
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(OrderTableModel::Customer,
                                                      QHeaderView::Stretch);
    m_table->setShowGrid(false);
    m_table->setAlternatingRowColors(false);

    m_run->setObjectName(QStringLiteral("runOrderButton"));
    setStyleRole(m_run, QStringLiteral("primary"));
    m_run->setMinimumHeight(72);
    m_refresh->setObjectName(QStringLiteral("refreshButton"));
    m_create->setObjectName(QStringLiteral("createOrderButton"));
    m_close->setObjectName(QStringLiteral("closeOrderButton"));
    setStyleRole(m_close, QStringLiteral("danger"));
    m_message->setObjectName(QStringLiteral("ordersMessage"));
    m_message->setWordWrap(true);
    m_empty->setObjectName(QStringLiteral("noOrders"));
    setStyleRole(m_empty, QStringLiteral("subtitle"));

    auto* buttons = new QHBoxLayout;
    buttons->setSpacing(16);
    buttons->addWidget(m_run, 2);
    buttons->addWidget(m_refresh, 1);
    buttons->addStretch(1);
    buttons->addWidget(m_create, 1);
    buttons->addWidget(m_close, 1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(24, 16, 24, 16);
    layout->setSpacing(16);
    layout->addWidget(title);
    layout->addWidget(m_empty);
    layout->addWidget(m_table, 1);
    layout->addWidget(m_message);
    layout->addLayout(buttons);

    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &OrdersView::updateButtons);
    connect(m_table, &QTableView::doubleClicked, m_run, &QPushButton::click);
    connect(m_run, &QPushButton::clicked, this, [this] {
        if (const station::OrderSummary* s = selected())
            Q_EMIT runRequested(s->order);
    });
    connect(m_refresh, &QPushButton::clicked, this, &OrdersView::refreshRequested);
    connect(m_create, &QPushButton::clicked, this, &OrdersView::createRequested);
    connect(m_close, &QPushButton::clicked, this, [this] {
        if (const station::OrderSummary* s = selected())
            Q_EMIT closeRequested(s->order.id);
    });
    setCanAdminister(false);
    updateButtons();
}

void OrdersView::setOrders(std::vector<station::OrderSummary> orders) {
    const station::OrderSummary* before = selected();
    const QString keep = before ? before->order.id : QString();
    m_model->setOrders(std::move(orders));
    m_empty->setVisible(m_model->rowCount() == 0);
    // One order: nothing to choose, it is selected. Otherwise the one chosen before stays.
    if (!keep.isEmpty() && m_model->rowOf(keep) >= 0)
        select(keep);
    else if (m_model->rowCount() == 1)
        m_table->selectRow(0);
    updateButtons();
}

void OrdersView::setCanAdminister(bool can) {
    m_create->setVisible(can);
    m_close->setVisible(can);
}

void OrdersView::setBusy(bool busy) {
    m_busy = busy;
    updateButtons();
}

void OrdersView::select(const QString& orderId) {
    const int row = m_model->rowOf(orderId);
    if (row >= 0)
        m_table->selectRow(row);
}

const station::OrderSummary* OrdersView::selected() const {
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    return rows.isEmpty() ? nullptr : m_model->orderAt(rows.first().row());
}

void OrdersView::showMessage(const QString& text) {
    m_message->setText(text);
}

void OrdersView::updateButtons() {
    const bool picked = selected() != nullptr;
    m_run->setEnabled(picked && !m_busy);
    m_close->setEnabled(picked && !m_busy);
    m_create->setEnabled(!m_busy);
    m_refresh->setEnabled(!m_busy);
}

} // namespace keyline::ui
