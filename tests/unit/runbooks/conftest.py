"""Fixtures the runbooks' tests share (a test module's own fixture of the same name wins)."""

import pytest
from moto.rds.models import rds_backends

from lambdas.settings import Settings
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, REGION, TABLE_NAME
from tests.unit.runbooks.rds_world import CLUSTER


@pytest.fixture
def settings(dhbw):
    return Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)


@pytest.fixture
def rds(session):
    return session.client("rds")


@pytest.fixture
def cluster(rds):
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", MasterUsername="lecture", MasterUserPassword="unit-test-password"
    )
    return rds_backends[ACCOUNT][REGION].clusters[CLUSTER]
