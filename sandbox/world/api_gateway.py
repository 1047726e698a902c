"""The api_gateway kind's part of the simulated world: the customer's REST API and its stage, only when the
customer file names one (``api: {name, stage}``)."""

from pydantic import BaseModel, ConfigDict


class ApiGatewayWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exists: bool = True


KEY = "api"  # world.api in scenario files and in the report
Spec = ApiGatewayWorld
AWS_SERVICES: tuple[str, ...] = ()  # the automation changes nothing on it


def instance_of(operation: str, params: dict) -> str | None:
    return None


def check(config, specs: dict[str, ApiGatewayWorld]) -> None:
    for name in specs:
        if not config.api or name != config.api.name:
            raise ValueError(
                f"world.api.{name}: customers/{config.customer}.yaml names "
                f"{repr(config.api.name) if config.api else 'no API'} (api.name)"
            )


def build(clients, config, specs: dict[str, ApiGatewayWorld], account: str, region: str) -> None:
    if not config.api or not specs.get(config.api.name, ApiGatewayWorld()).exists:
        return
    apigw = clients("apigateway")
    api = apigw.create_rest_api(name=config.api.name)["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName=config.api.stage)


def install(patches) -> None:
    """moto's API Gateway has the diagnosis reads."""


def snapshot(clients, config) -> dict:
    if not config.api:
        return {}
    names = {a["name"] for a in clients("apigateway").get_rest_apis().get("items", [])}
    return {config.api.name: {"stage": config.api.stage}} if config.api.name in names else {}
