"""Drives create -> get -> list -> cancel through a Python client generated from numberdesk's
OpenAPI document (openapi-python-client, package `numberdesk_client`), against a server started
with `serve --demo`. Any unexpected answer fails with a message; exit code 0 means the flow ran.

Usage: python client_flow.py BASE_URL   (with the generated package on PYTHONPATH)
"""

import sys
from uuid import UUID

from numberdesk_client import AuthenticatedClient
from numberdesk_client.api.number_requests import (
    cancel_request,
    create_request,
    get_request,
    list_requests,
)
from numberdesk_client.models import (
    CreateNumberRequest,
    NumberRequest,
    PhoneNumberType,
    ReasonBody,
)

# The demo world (src/demo.rs).
ACCOUNT = UUID("00000000-0000-0000-0000-000000000001")
API_KEY = "demo-product-token"
NL_PROFILE = "00000000-0000-0000-0000-000000000011"


def expect(answer, what):
    """The parsed answer when it is a NumberRequest or a list, else fail with what came back."""
    if answer.status_code.value >= 300 or answer.parsed is None:
        sys.exit(f"{what}: HTTP {answer.status_code.value}: {answer.content[:500]!r}")
    return answer.parsed


def main(base_url):
    client = AuthenticatedClient(
        base_url=base_url, token=API_KEY, prefix="", auth_header_name="X-CM-PRODUCTTOKEN"
    )
    with client as c:
        # More toll-free numbers than the demo stock holds (100): the request stays Pending, so
        # it can be cancelled. One is cancelled without a body, the other with a reason.
        created = []
        for comment in ("client flow, cancelled without a body", "client flow, with a reason"):
            body = CreateNumberRequest(
                company_profile_id=NL_PROFILE,
                phone_number_type=PhoneNumberType.TOLLFREE,
                quantity=101,
                comment=comment,
            )
            req = expect(
                create_request.sync_detailed(ACCOUNT, client=c, body=body), "create"
            )
            assert isinstance(req, NumberRequest), req
            if req.status != "Pending" or len(req.ranges) != 101:
                sys.exit(f"create: expected a Pending request with 101 ranges, got {req.status}")
            print(f"created {req.id} ({req.status})")
            created.append(req)

        for req in created:
            got = expect(get_request.sync_detailed(ACCOUNT, req.id, client=c), "get")
            if got.id != req.id or got.comment != req.comment:
                sys.exit(f"get: expected request {req.id}, got {got.id}")
        print("got both back")

        page = expect(list_requests.sync_detailed(ACCOUNT, client=c, take=100), "list")
        listed = {r.id for r in page}
        missing = [str(r.id) for r in created if r.id not in listed]
        if missing:
            sys.exit(f"list: {missing} not among the newest 100 requests")
        print(f"listed ({len(page)} on the first page)")

        first = expect(
            cancel_request.sync_detailed(ACCOUNT, created[0].id, client=c), "cancel without a body"
        )
        second = expect(
            cancel_request.sync_detailed(
                ACCOUNT, created[1].id, client=c, body=ReasonBody(reason="No longer needed")
            ),
            "cancel with a reason",
        )
        if first.status != "Cancelled" or second.status != "Cancelled":
            sys.exit(f"cancel: expected Cancelled twice, got {first.status}, {second.status}")
        if second.reason != "No longer needed":
            sys.exit(f"cancel: the reason was not kept: {second.reason!r}")
        print("cancelled both (without a body, and with a reason)")


if __name__ == "__main__":
    main(sys.argv[1])
