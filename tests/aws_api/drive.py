"""Drives a running hybridlab lab through its AWS-shaped API with the real boto3 and aws CLI
(from PyPI), the way a user's automation would (`--endpoint-url`), and checks every answer
against botocore's own service models.

    python drive.py vpn|static|dx|tgw API_JSON
    python drive.py live API_JSON up|t1-down

API_JSON is the lab's api.json (endpoint, region, credentials). Each flow prints one JSON
line of facts for the Rust test (tests/aws_api.rs) and exits non-zero with a message on the
first failed check. Polls have deadlines; nothing sleeps for synchronisation.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import boto3
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.parsers import create_parser

API = json.load(open(sys.argv[2]))
ENDPOINT = API["endpoint"]
REGION = API["region"]
KEY_ID = API["access_key_id"]
SECRET = API["secret_access_key"]
SESSION = botocore.session.get_session()


def fail(msg):
    print(f"FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def client(service, secret=SECRET):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=secret,
    )


def aws_cli(*args, secret=SECRET):
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=KEY_ID,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    return subprocess.run(
        [aws, "--endpoint-url", ENDPOINT, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def poll(what, deadline_s, fn, interval=0.2):
    """fn() returns (done, observation); the last observation goes in the failure."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        done, last = fn()
        if done:
            return last
        time.sleep(interval)
    fail(f"timed out after {deadline_s} s waiting for {what}; last: {last}")


# --- checking our answers against botocore's service models -------------------------------

def raw_call(service, protocol, operation, params):
    """Sends a request signed by botocore's own SigV4 and returns (status, headers, body)."""
    model = SESSION.get_service_model(service)
    op = model.operation_model(operation)
    if protocol == "ec2":
        body = {"Action": operation, "Version": model.api_version, **params}
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        req = AWSRequest(method="POST", url=ENDPOINT + "/", data=body, headers=headers)
    else:
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{model.metadata['targetPrefix']}.{operation}",
        }
        req = AWSRequest(method="POST", url=ENDPOINT + "/", data=json.dumps(params), headers=headers)
    SigV4Auth(Credentials(KEY_ID, SECRET), model.signing_name, REGION).add_auth(req)
    prepared = req.prepare()
    data = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    r = urllib.request.Request(prepared.url, data=data, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read(), op
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read(), op


def walk_xml(elem, shape, path):
    """Every element we return must be a member of botocore's shape (EC2 serialization names)."""
    if shape.type_name == "structure":
        names = {}
        for name, member in shape.members.items():
            names[member.serialization.get("name", name[0].lower() + name[1:])] = member
        for child in elem:
            tag = child.tag.split("}")[-1]
            if tag not in names:
                fail(f"{path}/{tag} is not in botocore's shape {shape.name} (members: {sorted(names)})")
            walk_xml(child, names[tag], f"{path}/{tag}")
    elif shape.type_name == "list":
        for child in elem:
            tag = child.tag.split("}")[-1]
            if tag != "item":
                fail(f"{path}/{tag}: list members are <item>")
            walk_xml(child, shape.member, f"{path}/item")


def walk_json(value, shape, path):
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            fail(f"{path} is not an object")
        for k, v in value.items():
            if k not in shape.members:
                fail(f"{path}.{k} is not in botocore's shape {shape.name}")
            walk_json(v, shape.members[k], f"{path}.{k}")
    elif shape.type_name == "list":
        for i, v in enumerate(value):
            walk_json(v, shape.member, f"{path}[{i}]")


def validated(service, operation, params=None):
    """Calls `operation` raw, checks status 200, every field against the model, and that
    botocore's parser takes the body; returns the parsed response."""
    protocol = "ec2" if service == "ec2" else "json"
    status, headers, body, op = raw_call(service, protocol, operation, params or {})
    if status != 200:
        fail(f"{operation}: HTTP {status}: {body[:300]!r}")
    if protocol == "ec2":
        root = ET.fromstring(body)
        tag = root.tag.split("}")[-1]
        if tag != f"{operation}Response":
            fail(f"{operation}: root element {tag}")
        # Every element but the request id is a member of the operation's output shape.
        wrapper = ET.Element("root")
        wrapper.extend([c for c in root if c.tag.split("}")[-1] != "requestId"])
        walk_xml(wrapper, op.output_shape, operation)
    else:
        walk_json(json.loads(body), op.output_shape, operation)
    parser = create_parser(protocol)
    parsed = parser.parse(
        {"body": body, "headers": headers, "status_code": status}, op.output_shape
    )
    if "Error" in parsed and parsed["Error"].get("Code"):
        fail(f"{operation}: botocore parsed an error: {parsed['Error']}")
    return parsed


def expect_error(fn, code):
    try:
        fn()
    except ClientError as e:
        got = e.response["Error"]["Code"]
        if got != code:
            fail(f"expected {code}, got {got}: {e}")
        return
    fail(f"expected {code}, the call succeeded")


# --- flows ----------------------------------------------------------------------------------

def telemetry(conn):
    return {t["OutsideIpAddress"]: t for t in conn["VgwTelemetry"]}


def vpn_flow():
    ec2 = client("ec2")
    # Every read call, checked against the model.
    conns = validated("ec2", "DescribeVpnConnections")["VpnConnections"]
    if len(conns) != 1:
        fail(f"one VPN connection expected: {conns}")
    vpn = conns[0]
    validated("ec2", "DescribeVpnGateways")
    cgws = validated("ec2", "DescribeCustomerGateways")["CustomerGateways"]
    if [c["CustomerGatewayId"] for c in cgws] != [vpn["CustomerGatewayId"]]:
        fail(f"customer gateways {cgws} vs {vpn}")
    types = validated("ec2", "GetVpnConnectionDeviceTypes")["VpnConnectionDeviceTypes"]
    if "strongswan" not in [t["VpnConnectionDeviceTypeId"] for t in types]:
        fail(f"device types {types}")
    sample = validated(
        "ec2",
        "GetVpnConnectionDeviceSampleConfiguration",
        {"VpnConnectionId": vpn["VpnConnectionId"], "VpnConnectionDeviceTypeId": "strongswan"},
    )["VpnConnectionDeviceSampleConfiguration"]
    if "secret" not in sample or "connections" not in sample:
        fail(f"the strongSwan sample has no connections/secrets: {sample[:200]}")
    t1, t2 = [t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"]]

    # Both tunnels UP first (boto3), then the timeline's cut of tunnel 1 seen through the CLI.
    def both_up():
        c = ec2.describe_vpn_connections(VpnConnectionIds=[vpn["VpnConnectionId"]])["VpnConnections"][0]
        t = telemetry(c)
        return t[t1]["Status"] == "UP" and t[t2]["Status"] == "UP", t
    poll("both tunnels UP", 30, both_up)
    last_up = [time.time()]
    slowest = [0.0]

    def t1_down():
        started = time.time()
        r = aws_cli("ec2", "describe-vpn-connections", "--vpn-connection-ids", vpn["VpnConnectionId"])
        slowest[0] = max(slowest[0], time.time() - started)
        if r.returncode != 0:
            fail(f"aws ec2 describe-vpn-connections: {r.stderr}")
        t = telemetry(json.loads(r.stdout)["VpnConnections"][0])
        if t[t1]["Status"] == "UP":
            last_up[0] = time.time()
        return t[t1]["Status"] == "DOWN" and t[t2]["Status"] == "UP", t
    t = poll("tunnel 1 DOWN and tunnel 2 UP (aws ec2 describe-vpn-connections)", 40, t1_down)
    seen_down = time.time()
    if not t[t1]["StatusMessage"].startswith("IPSEC IS"):
        fail(f"tunnel 1's status message: {t[t1]}")
    if not t[t2]["StatusMessage"].endswith("BGP ROUTES") or t[t2]["AcceptedRouteCount"] < 1:
        fail(f"tunnel 2's telemetry: {t[t2]}")

    # Errors in AWS's shapes, and nothing changed by refused requests.
    r = aws_cli("ec2", "describe-vpn-connections", secret="wrong-secret")
    if r.returncode == 0 or "AuthFailure" not in r.stderr:
        fail(f"a wrong secret: rc {r.returncode}, {r.stderr}")
    expect_error(lambda: client("ec2", secret="nope").describe_vpn_connections(), "AuthFailure")
    expect_error(lambda: ec2.describe_vpn_connections(VpnConnectionIds=["vpn-00000000000000000"]), "InvalidVpnConnectionID.NotFound")
    expect_error(lambda: ec2.describe_instances(), "InvalidAction")
    expect_error(
        lambda: ec2.create_vpn_connection_route(VpnConnectionId=vpn["VpnConnectionId"], DestinationCidrBlock="10.9.0.0/16"),
        "InvalidParameterValue",  # a dynamic connection takes no static routes
    )
    expect_error(
        lambda: ec2.create_vpn_connection_route(VpnConnectionId=vpn["VpnConnectionId"], DestinationCidrBlock="not-a-cidr"),
        "InvalidParameterValue",
    )
    print(json.dumps({
        "vpn_connection_id": vpn["VpnConnectionId"],
        "down_seen_after_last_up_s": seen_down - last_up[0],
        "slowest_poll_s": slowest[0],
        "tunnel1": t[t1],
    }, default=str))


def static_flow():
    ec2 = client("ec2")
    conns = validated("ec2", "DescribeVpnConnections")["VpnConnections"]
    static = [c for c in conns if c["Options"]["StaticRoutesOnly"]]
    if len(static) != 1:
        fail(f"one static connection expected: {conns}")
    vid = static[0]["VpnConnectionId"]
    if static[0]["Routes"]:
        fail(f"the static connection starts with routes: {static[0]['Routes']}")
    # A refused request changes nothing.
    expect_error(
        lambda: client("ec2", secret="wrong").create_vpn_connection_route(VpnConnectionId=vid, DestinationCidrBlock="10.1.0.0/16"),
        "AuthFailure",
    )
    c = ec2.describe_vpn_connections(VpnConnectionIds=[vid])["VpnConnections"][0]
    if c["Routes"]:
        fail(f"a refused request added a route: {c['Routes']}")
    r = aws_cli("ec2", "create-vpn-connection-route", "--vpn-connection-id", vid, "--destination-cidr-block", "10.1.0.0/16")
    if r.returncode != 0:
        fail(f"aws ec2 create-vpn-connection-route: {r.stderr}")
    c = validated("ec2", "DescribeVpnConnections", {"VpnConnectionId.1": vid})["VpnConnections"][0]
    routes = [(x["DestinationCidrBlock"], x["Source"], x["State"]) for x in c["Routes"]]
    if routes != [("10.1.0.0/16", "Static", "available")]:
        fail(f"routes after create: {routes}")
    print(json.dumps({"vpn_connection_id": vid, "routes": routes}))


def dx_flow():
    dx = client("directconnect")
    vifs = validated("directconnect", "DescribeVirtualInterfaces")["virtualInterfaces"]
    if len(vifs) != 1:
        fail(f"one VIF expected: {vifs}")
    vif = vifs[0]
    if any("authKey" in p for p in vif["bgpPeers"]) or "authKey" in vif:
        fail("a key in DescribeVirtualInterfaces")
    validated("directconnect", "DescribeConnections")
    gws = validated("directconnect", "DescribeDirectConnectGateways")["directConnectGateways"]
    assoc = validated("directconnect", "DescribeDirectConnectGatewayAssociations")["directConnectGatewayAssociations"]
    if [g["directConnectGatewayId"] for g in gws] != [vif["directConnectGatewayId"]] or len(assoc) != 1:
        fail(f"gateways {gws}, associations {assoc}")

    def up():
        v = dx.describe_virtual_interfaces(virtualInterfaceId=vif["virtualInterfaceId"])["virtualInterfaces"][0]
        return all(p["bgpStatus"] == "up" for p in v["bgpPeers"]), v["bgpPeers"]
    poll("the VIF's BGP up", 30, up)
    r = aws_cli("directconnect", "start-bgp-failover-test", "--virtual-interface-id", vif["virtualInterfaceId"], "--test-duration-in-minutes", "1")
    if r.returncode != 0:
        fail(f"aws directconnect start-bgp-failover-test: {r.stderr}")
    test = json.loads(r.stdout)["virtualInterfaceTest"]
    if test["status"] != "in_progress" or test["testDurationInMinutes"] != 1:
        fail(f"the test: {test}")

    def down():
        v = dx.describe_virtual_interfaces(virtualInterfaceId=vif["virtualInterfaceId"])["virtualInterfaces"][0]
        return all(p["bgpStatus"] == "down" for p in v["bgpPeers"]), v["bgpPeers"]
    peers = poll("every BGP peer of the VIF down during the test", 10, down)
    expect_error(lambda: dx.start_bgp_failover_test(virtualInterfaceId="dxvif-00000000"), "DirectConnectClientException")
    expect_error(lambda: client("directconnect", secret="bad").describe_virtual_interfaces(), "InvalidSignatureException")
    print(json.dumps({"vif": vif["virtualInterfaceId"], "peers_during_test": peers}))


def tgw_flow():
    ec2 = client("ec2")
    tgws = validated("ec2", "DescribeTransitGateways")["TransitGateways"]
    if len(tgws) != 1 or tgws[0]["Options"]["AmazonSideAsn"] != TGW_ASN:
        fail(f"one TGW with ASN {TGW_ASN}: {tgws}")
    atts = validated("ec2", "DescribeTransitGatewayAttachments")["TransitGatewayAttachments"]
    kinds = sorted(a["ResourceType"] for a in atts)
    if kinds != ["connect", "vpc"]:
        fail(f"attachments {kinds}")
    connect = [a for a in atts if a["ResourceType"] == "connect"][0]
    vpc = [a for a in atts if a["ResourceType"] == "vpc"][0]
    if connect["ResourceId"] != vpc["TransitGatewayAttachmentId"]:
        fail(f"the Connect attachment's transport is the VPC attachment: {connect}")

    def peers_up():
        ps = ec2.describe_transit_gateway_connect_peers()["TransitGatewayConnectPeers"]
        up = {p["TransitGatewayConnectPeerId"]: [b["BgpStatus"] for b in p["ConnectPeerConfiguration"]["BgpConfigurations"]] for p in ps}
        return sorted(map(tuple, up.values())) == [("down", "down"), ("up", "up"), ("up", "up"), ("up", "up")], up
    poll("three Connect peers with both sessions up, the TTL-1 peer down", 60, peers_up)
    peers = validated("ec2", "DescribeTransitGatewayConnectPeers")["TransitGatewayConnectPeers"]
    for p in peers:
        c = p["ConnectPeerConfiguration"]
        if c["Protocol"] != "gre" or len(c["BgpConfigurations"]) != 2 or not c["InsideCidrBlocks"][0].endswith("/29"):
            fail(f"a Connect peer: {p}")
    table = connect["Association"]["TransitGatewayRouteTableId"]

    def site_route():
        r = ec2.search_transit_gateway_routes(
            TransitGatewayRouteTableId=table,
            Filters=[{"Name": "route-search.exact-match", "Values": [SITE]}],
        )["Routes"]
        return len(r) == 1 and r[0]["State"] == "active" and r[0]["Type"] == "propagated", r
    routes = poll(f"{SITE} propagated from Connect", 30, site_route)
    if [a["ResourceType"] for a in routes[0]["TransitGatewayAttachments"]] != ["connect"]:
        fail(f"{SITE} not via the Connect attachment: {routes}")
    validated("ec2", "SearchTransitGatewayRoutes", {
        "TransitGatewayRouteTableId": table,
        "Filter.1.Name": "type", "Filter.1.Value.1": "propagated",
    })
    r = aws_cli("ec2", "search-transit-gateway-routes", "--transit-gateway-route-table-id", table,
                "--filters", "Name=state,Values=active")
    if r.returncode != 0 or SITE not in r.stdout:
        fail(f"aws ec2 search-transit-gateway-routes: {r.stderr} {r.stdout}")
    expect_error(lambda: ec2.search_transit_gateway_routes(TransitGatewayRouteTableId=table, Filters=[{"Name": "tag:x", "Values": ["y"]}]), "InvalidParameterValue")
    expect_error(lambda: ec2.search_transit_gateway_routes(TransitGatewayRouteTableId="tgw-rtb-00000000000000000", Filters=[{"Name": "type", "Values": ["static"]}]), "InvalidRouteTableID.NotFound")
    changed = route_table_changes(ec2, table, vpc["TransitGatewayAttachmentId"],
                                  connect["TransitGatewayAttachmentId"])
    print(json.dumps({"tgw": tgws[0]["TransitGatewayId"], "peers": len(peers), "route": routes[0],
                      "changes": changed}))


def route_table_changes(ec2, table, vpc_att, connect_att):
    """Create/Replace/DeleteTransitGatewayRoute and Disable/EnableTransitGatewayRouteTablePropagation
    on the live TGW: each answer validated against the model, each change seen in
    SearchTransitGatewayRoutes right after the call, AWS's refusals with AWS's codes."""
    cidr = "10.99.0.0/16"

    def search(prefix):
        return ec2.search_transit_gateway_routes(
            TransitGatewayRouteTableId=table,
            Filters=[{"Name": "route-search.exact-match", "Values": [prefix]}],
        )["Routes"]
    r = validated("ec2", "CreateTransitGatewayRoute", {
        "TransitGatewayRouteTableId": table, "DestinationCidrBlock": cidr,
        "TransitGatewayAttachmentId": vpc_att,
    })["Route"]
    if (r["State"], r["Type"]) != ("active", "static"):
        fail(f"CreateTransitGatewayRoute: {r}")
    found = search(cidr)
    if len(found) != 1 or found[0]["Type"] != "static" or \
            found[0]["TransitGatewayAttachments"][0]["TransitGatewayAttachmentId"] != vpc_att:
        fail(f"the created route in the table: {found}")
    expect_error(lambda: ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock=cidr, Blackhole=True), "RouteAlreadyExists")
    r = validated("ec2", "ReplaceTransitGatewayRoute", {
        "TransitGatewayRouteTableId": table, "DestinationCidrBlock": cidr, "Blackhole": "true",
    })["Route"]
    if r["State"] != "blackhole" or search(cidr)[0]["State"] != "blackhole":
        fail(f"ReplaceTransitGatewayRoute to a blackhole: {r} {search(cidr)}")
    r = aws_cli("ec2", "delete-transit-gateway-route", "--transit-gateway-route-table-id", table,
                "--destination-cidr-block", cidr)
    if r.returncode != 0 or '"deleted"' not in r.stdout:
        fail(f"aws ec2 delete-transit-gateway-route: {r.stderr} {r.stdout}")
    if search(cidr):
        fail(f"the deleted route is still in the table: {search(cidr)}")
    expect_error(lambda: ec2.delete_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock=cidr), "InvalidRoute.NotFound")
    expect_error(lambda: ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock=cidr,
        TransitGatewayAttachmentId=connect_att), "InvalidParameterValue")
    expect_error(lambda: ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock=cidr,
        TransitGatewayAttachmentId="tgw-attach-00000000000000000"), "InvalidTransitGatewayAttachmentID.NotFound")
    p = validated("ec2", "DisableTransitGatewayRouteTablePropagation", {
        "TransitGatewayRouteTableId": table, "TransitGatewayAttachmentId": connect_att,
    })["Propagation"]
    if p["State"] != "disabled" or p["ResourceType"] != "connect" or search(SITE):
        fail(f"DisableTransitGatewayRouteTablePropagation: {p} {search(SITE)}")
    expect_error(lambda: ec2.disable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=connect_att), "InvalidParameterValue")
    p = validated("ec2", "EnableTransitGatewayRouteTablePropagation", {
        "TransitGatewayRouteTableId": table, "TransitGatewayAttachmentId": connect_att,
    })["Propagation"]
    back = search(SITE)
    if p["State"] != "enabled" or len(back) != 1 or back[0]["Type"] != "propagated":
        fail(f"EnableTransitGatewayRouteTablePropagation: {p} {back}")
    return ["create", "replace", "delete", "disable", "enable"]


def live_flow():
    """`hybridlab up --api`: both tunnels UP; then (after the test's `act cut`) tunnel 1 DOWN."""
    ec2 = client("ec2")
    vpn = validated("ec2", "DescribeVpnConnections")["VpnConnections"][0]
    t1, t2 = [t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"]]
    want = sys.argv[3]

    def state():
        c = ec2.describe_vpn_connections()["VpnConnections"][0]
        t = telemetry(c)
        ok = (t[t1]["Status"], t[t2]["Status"]) == (("UP", "UP") if want == "up" else ("DOWN", "UP"))
        return ok, t
    t = poll(f"tunnels {want}", 40, state)
    print(json.dumps({"vpn_connection_id": vpn["VpnConnectionId"], "tunnel1": t[t1]}, default=str))


TGW_ASN = 64512
SITE = "10.1.0.0/16"

{"vpn": vpn_flow, "static": static_flow, "dx": dx_flow, "tgw": tgw_flow, "live": live_flow}[sys.argv[1]]()
