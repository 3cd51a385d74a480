"""FOCUS column specifications: what the spec mandates and which columns the spend reader needs.

Transcribed from the FinOps Foundation FOCUS specification repository
(FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec), tag ``v1.2``:

- column definitions: ``specification/columns/<column>.md`` (each file's "Content Constraints"
  table gives Feature level, Allows nulls, Data type, Value format and the allowed values);
  the file of each column is kept in ``ColumnSpec.spec_file``;
- formats: ``specification/attributes/datetime_format.md``, ``currency_format.md``,
  ``numeric_format.md``, ``key_value_format.md``, ``unit_format.md``.

FOCUS 1.3 (pull request #1139 "Refactor Provider Identification, Host Provider, Invoice Issuer",
files ``specification/datasets/cost_and_usage/columns/serviceprovidername.md`` and
``hostprovidername.md``) replaces ProviderName/PublisherName with ServiceProviderName
(mandatory, not null) and HostProviderName (nullable, e.g. for purchases and taxes).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class DataType(StrEnum):
    decimal = "Decimal"
    string = "String"
    datetime = "Date/Time"
    json = "JSON"


class ColumnSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    data_type: DataType
    nullable: bool
    feature_level: str = "Mandatory"
    value_format: str | None = None  # "Numeric", "Currency", "Date/Time", "Unit", "Key-Value"
    allowed_values: tuple[str, ...] = ()
    spec_file: str


_COLUMNS = "specification/columns/"

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
CHARGE_CLASSES = ("Correction",)
SERVICE_CATEGORIES = (
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Multicloud",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
)


def _spec(
    name: str,
    data_type: DataType,
    nullable: bool,
    file: str,
    *,
    feature_level: str = "Mandatory",
    value_format: str | None = None,
    allowed_values: tuple[str, ...] = (),
) -> ColumnSpec:
    return ColumnSpec(
        name=name,
        data_type=data_type,
        nullable=nullable,
        spec_file=_COLUMNS + file,
        feature_level=feature_level,
        value_format=value_format,
        allowed_values=allowed_values,
    )


_D, _S, _T, _J = DataType.decimal, DataType.string, DataType.datetime, DataType.json

# Every column FOCUS 1.2 marks "Feature level: Mandatory" (21 columns).
MANDATORY_1_2: tuple[ColumnSpec, ...] = (
    _spec("BilledCost", _D, False, "billedcost.md", value_format="Numeric"),
    _spec("BillingAccountId", _S, False, "billingaccountid.md"),
    _spec("BillingAccountName", _S, True, "billingaccountname.md"),
    _spec("BillingCurrency", _S, False, "billingcurrency.md", value_format="Currency"),
    _spec("BillingPeriodEnd", _T, False, "billingperiodend.md", value_format="Date/Time"),
    _spec("BillingPeriodStart", _T, False, "billingperiodstart.md", value_format="Date/Time"),
    _spec("ChargeCategory", _S, False, "chargecategory.md", allowed_values=CHARGE_CATEGORIES),
    _spec("ChargeClass", _S, True, "chargeclass.md", allowed_values=CHARGE_CLASSES),
    _spec("ChargeDescription", _S, True, "chargedescription.md"),
    _spec("ChargePeriodEnd", _T, False, "chargeperiodend.md", value_format="Date/Time"),
    _spec("ChargePeriodStart", _T, False, "chargeperiodstart.md", value_format="Date/Time"),
    _spec("ContractedCost", _D, False, "contractedcost.md", value_format="Numeric"),
    _spec("EffectiveCost", _D, False, "effectivecost.md", value_format="Numeric"),
    _spec("InvoiceIssuerName", _S, False, "invoiceissuer.md"),
    _spec("ListCost", _D, False, "listcost.md", value_format="Numeric"),
    # Null exactly when ChargeCategory is "Tax" (and allowed for credits/adjustments).
    _spec("PricingQuantity", _D, True, "pricingquantity.md", value_format="Numeric"),
    _spec("PricingUnit", _S, True, "pricingunit.md", value_format="Unit"),
    _spec("ProviderName", _S, False, "provider.md"),
    _spec("PublisherName", _S, False, "publisher.md"),
    _spec("ServiceCategory", _S, False, "servicecategory.md", allowed_values=SERVICE_CATEGORIES),
    _spec("ServiceName", _S, False, "servicename.md"),
)

TAGS = _spec("Tags", _J, True, "tags.md", feature_level="Conditional", value_format="Key-Value")

SERVICE_PROVIDER_1_3 = ColumnSpec(
    name="ServiceProviderName",
    data_type=_S,
    nullable=False,
    spec_file="specification/datasets/cost_and_usage/columns/serviceprovidername.md",
)
HOST_PROVIDER_1_3 = ColumnSpec(
    name="HostProviderName",
    data_type=_S,
    nullable=True,
    spec_file="specification/datasets/cost_and_usage/columns/hostprovidername.md",
)

# The 1.3 mandatory set as far as this project relies on it: 1.2's, with the provider columns
# replaced (ProviderName and PublisherName are deprecated in 1.3).
MANDATORY_1_3: tuple[ColumnSpec, ...] = tuple(
    c for c in MANDATORY_1_2 if c.name not in ("ProviderName", "PublisherName")
) + (SERVICE_PROVIDER_1_3, HOST_PROVIDER_1_3)

SUPPORTED_VERSIONS = ("1.0", "1.1", "1.2", "1.3")


def provider_column(version: str) -> str:
    """The column naming who provides the service: ProviderName until 1.2, then ServiceProviderName."""
    return "ServiceProviderName" if version == "1.3" else "ProviderName"


def required_columns(version: str) -> tuple[str, ...]:
    """Mandatory columns the spend reader needs; a file lacking one is rejected."""
    return (
        "BilledCost",
        "EffectiveCost",
        "BillingCurrency",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ChargeCategory",
        "ServiceName",
        provider_column(version),
    )


def mandatory(version: str) -> tuple[ColumnSpec, ...]:
    return MANDATORY_1_3 if version == "1.3" else MANDATORY_1_2
