"""A Python dashboard client as docs/api.md shows it: gql fetches the schema
from the live endpoint, checks the query against it locally, then runs it.

Usage: python gql_client.py <url> <token>; prints the township count as JSON.
"""
import json
import sys

from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

url, token = sys.argv[1], sys.argv[2]
transport = RequestsHTTPTransport(url=url, headers={"Authorization": f"Bearer {token}"}, retries=2)
with Client(transport=transport, fetch_schema_from_transport=True) as session:
    query = gql("{ regions(level: TOWNSHIP) { code name households(first: 0) { totalCount } } }")
    result = session.execute(query)
    # A query the schema does not allow is refused here, before it is sent.
    try:
        session.execute(gql("{ regions { noSuchField } }"))
        refused = False
    except Exception:  # graphql.GraphQLError from local validation
        refused = True
    print(json.dumps({
        "types": len(session.client.schema.type_map),
        "townships": len(result["regions"]),
        "households": sum(r["households"]["totalCount"] for r in result["regions"]),
        "refusedLocally": refused,
    }))
