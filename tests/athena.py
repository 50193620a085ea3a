"""What moto's Athena answers, for tests of code that reads Athena results."""


def athena_answers(region, columns, rows):
    """Queue what moto's Athena answers to the next query (it runs no SQL): the column types
    and rows, which it also writes as the CSV result file Athena writes."""
    from moto.athena.models import QueryResults, athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    def cells(values):
        return {"Data": [{"VarCharValue": v} for v in values]}

    athena_backends[DEFAULT_ACCOUNT_ID][region].query_results_queue.append(QueryResults(
        rows=[cells([name for name, _ in columns]), *(cells(r) for r in rows)],
        column_info=[{"Name": name, "Label": name, "Type": kind, "CatalogName": "hive",
                      "SchemaName": "", "TableName": "", "Precision": 0, "Scale": 0,
                      "Nullable": "UNKNOWN", "CaseSensitive": False} for name, kind in columns]))
