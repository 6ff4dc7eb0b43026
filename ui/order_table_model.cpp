#include "ui/order_table_model.h"

#include "ui/station_style.h"

#include <QBrush>
#include <QFont>

namespace keyline::ui {

OrderTableModel::OrderTableModel(QObject* parent)
    : QAbstractTableModel(parent) {}

void OrderTableModel::setOrders(std::vector<station::OrderSummary> orders) {
    beginResetModel();
    m_orders = std::move(orders);
    endResetModel();
}

const station::OrderSummary* OrderTableModel::orderAt(int row) const {
    return row >= 0 && row < int(m_orders.size()) ? &m_orders[size_t(row)] : nullptr;
}

int OrderTableModel::rowOf(const QString& orderId) const {
    for (size_t i = 0; i < m_orders.size(); ++i)
        if (m_orders[i].order.id == orderId)
            return int(i);
    return -1;
}

int OrderTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(m_orders.size());
}

int OrderTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant OrderTableModel::data(const QModelIndex& index, int role) const {
    const station::OrderSummary* s = orderAt(index.row());
    if (!s)
        return {};
    const bool production = s->order.environment == db::Environment::Production;
    const station::OrderCounts& c = s->counts;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Id:
            return s->order.id;
        case Customer:
            return s->order.customerId;
        case Environment:
            return production ? tr("PRODUCTION") : tr("development");
        case Quantity:
            return s->order.quantity;
        case Done:
            return c.provisioned;
        case Failed:
            return c.failed + c.scrapped;
        case Remaining:
            return c.remaining(s->order);
        }
    }
    if (index.column() == Environment) {
        if (role == Qt::DecorationRole)
            return glyphIcon(production ? Glyph::Production : Glyph::Development, 32);
        if (role == Qt::BackgroundRole && production)
            return QBrush(style::kProduction);
        if (role == Qt::ForegroundRole)
            return QBrush(production ? QColor(Qt::white) : style::kDevelopment);
        if (role == Qt::FontRole) {
            QFont f;
            f.setPixelSize(22);
            f.setBold(true);
            return f;
        }
    }
    if (role == Qt::FontRole && index.column() == Id) {
        QFont f;
        f.setPixelSize(22);
        f.setBold(true);
        return f;
    }
    if (role == Qt::TextAlignmentRole && index.column() >= Quantity)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::AccessibleTextRole && index.column() == Environment)
        return production ? tr("production order") : tr("development order");
    return {};
}

QVariant OrderTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Id:
        return tr("Order");
    case Customer:
        return tr("Customer");
    case Environment:
        return tr("Environment");
    case Quantity:
        return tr("Quantity");
    case Done:
        return tr("Done");
    case Failed:
        return tr("Failed");
    case Remaining:
        return tr("Remaining");
    }
    return {};
}

} // namespace keyline::ui
