"""Composition root: build the Functions app and register the trigger blueprints. Nothing else."""
import azure.functions as func

from functions.http_api import create_api

app = func.AsgiFunctionApp(app=create_api(), http_auth_level=func.AuthLevel.ANONYMOUS)
