"""Network slots: a pooled network goes from cell to cell, its scenario set-up with it
while the scenario stays the same, and everything is removed at the end."""

from __future__ import annotations

import threading
from contextlib import ExitStack

from orchestrator.network.direct import Direct
from orchestrator.network.slots import Fresh, NetworkPool
from orchestrator.network.topology import SERVER_ALIASES, CellScope
from orchestrator.ports import RUN_LABEL
from tests.unit.fakes import FakeEngine, Script


def scope(engine: FakeEngine, stack: ExitStack, prefix: str) -> CellScope:
    return CellScope(engine, stack, prefix, {}, threading.Event())


def test_a_pooled_network_is_reused_and_its_setup_kept_per_scenario() -> None:
    engine = FakeEngine({})
    built: list[str] = []
    closed: list[str] = []

    def build(key: str):  # type: ignore[no-untyped-def]
        def make(stack: ExitStack) -> str:
            built.append(key)
            stack.callback(closed.append, key)
            return f"setup-{key}"

        return make

    with NetworkPool(engine, "run1", {"org.webrtc-interop.run": "run1"}) as pool:
        for key in ("nat-client", "nat-client", "turn-udp"):
            with ExitStack() as cell:
                slot = pool.take(scope(engine, cell, f"cell-{key}"))
                assert slot.setup(key, build(key)) == f"setup-{key}"
        assert len(engine.networks_created) == 1  # one slot served all three cells
        assert built == ["nat-client", "turn-udp"]  # built once per run of a scenario
        assert closed == ["nat-client"]  # the old set-up went when the scenario changed
    assert closed == ["nat-client", "turn-udp"]
    assert engine.leftovers() == []


def test_parallel_cells_get_their_own_slots_and_ipv6_a_fresh_network() -> None:
    engine = FakeEngine({})
    with NetworkPool(engine, "run1", {}) as pool, ExitStack() as one, ExitStack() as two:
        first = pool.take(scope(engine, one, "a"))
        second = pool.take(scope(engine, two, "b"))
        assert first.network.name != second.network.name
        assert first.network.bridge != second.network.bridge
        with ExitStack() as three:
            dual = pool.take(scope(engine, three, "c"), ipv6=True)
            assert dual.network.subnet6 is not None
            assert not dual.shared
    assert engine.leftovers() == []


def test_a_fresh_network_belongs_to_its_cell() -> None:
    engine = FakeEngine({})
    with ExitStack() as cell:
        slot = Fresh().take(scope(engine, cell, "wi-run.cell"))
        assert slot.network.name == "wi-run.cell"
        assert slot.setup("direct", lambda stack: 1) == 1
    assert engine.leftovers() == []


def test_direct_peers_join_holders_kept_on_the_pooled_network() -> None:
    engine = FakeEngine({"netkit": Script(exit_code=None)})
    with NetworkPool(engine, "run1", {RUN_LABEL: "run1"}) as pool:
        topology = Direct(pool, holder_image="netkit")
        for cell in ("a", "b"):
            with ExitStack() as stack:
                wiring = topology.up(scope(engine, stack, f"wi-run1.{cell}"))
                assert wiring.server.join
                assert wiring.client.join
                server = next(c for c in engine.containers if c.spec.name == wiring.server.join)
                assert server.spec.attachment.aliases == SERVER_ALIASES
                assert wiring.probe == (server.spec.attachment.ipv4, 8080)
                assert server.spec.privileges is not None
                assert "net.ipv4.tcp_max_tw_buckets" in server.spec.privileges.sysctls
        assert len(engine.containers) == 2  # two holders served both cells
    assert engine.leftovers() == []
