"""The OpenAPI 3.1 description of the point-of-sale API, served at /api/v1/openapi.json.

``tests/catalogue/test_api.py`` validates it and calls every operation, so
change it together with the views.
"""

import copy

from .passculture import DEFAULT_LIMIT, MAX_LIMIT


def _error(description):
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _import(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportResult"}}},
    }


_SHOP_STOCK_ERRORS = {
    "400": _error("Corps JSON illisible ou paramètre invalide ; rien n'a changé."),
    "401": _error("Jeton manquant, invalide ou révoqué (en-tête WWW-Authenticate)."),
    "403": _error("Le jeton appartient à une autre librairie ; rien n'a changé."),
    "404": _error("Librairie inconnue."),
    "405": _error("Méthode non autorisée."),
    "413": _error("Corps trop gros (réglage STOCK_FILE_MAX_BYTES, 50 Mo par défaut)."),
    "415": _error("Type de contenu autre que text/csv ou application/json."),
    "422": _import("Import refusé (fichier illisible, trop de lignes rejetées, ou instantané qui viderait "
                   "la plupart du stock) : le stock précédent est conservé ; le rapport dit pourquoi."),
}

_STOCK_BODY = {
    "required": True,
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "EAN;Qté;Prix TTC\r\n9782070368228;3;8,30\r\n9782070360246;1;9,90\r\n",
        },
        "application/json": {
            "schema": {"$ref": "#/components/schemas/StockPayload"},
            "example": {"stocks": [{"ref": "9782070368228", "quantity": 3, "price": 8.3}]},
        },
    },
}

_SHOP_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "Identifiant de la librairie."}

_PROBLEM = {
    "type": "object",
    "required": ["line", "value", "error", "level"],
    "properties": {
        "line": {"type": "integer", "description": "Ligne du fichier (2 = première ligne après l'en-tête)."},
        "index": {"type": "integer", "description": "Position dans « stocks » (corps JSON seulement)."},
        "value": {"type": "string", "description": "Valeur en cause (l'ISBN tel qu'envoyé)."},
        "error": {"type": "string"},
        "level": {"type": "string", "enum": ["error", "warning"]},
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Librairies en réseau — API des logiciels de caisse",
        "version": "1.0.0",
        "description": (
            "Les logiciels de caisse des librairies membres envoient leur stock (instantané complet en PUT, "
            "quelques lignes en PATCH) avec le jeton de la librairie ; le pass Culture lit le stock au format "
            "de son API fournisseur. Les quantités envoyées sont les exemplaires en rayon ; "
            "« available » retranche les exemplaires réservés."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerToken": []}, {"rawBasicToken": []}],
    "paths": {
        "/shops/{slug}/stock": {
            "parameters": [_SHOP_SLUG],
            "put": {
                "operationId": "replaceShopStock",
                "summary": "Remplacer tout le stock de la librairie (instantané)",
                "description": (
                    "Le corps est le stock complet : les titres absents passent à zéro. Mêmes formats et mêmes "
                    "règles que l'import de fichier ; tout ou rien."
                ),
                "parameters": [{
                    "name": "force", "in": "query", "required": False,
                    "schema": {"type": "boolean", "default": False},
                    "description": "Appliquer même si l'instantané fait passer à zéro la plupart des titres.",
                }],
                "requestBody": _STOCK_BODY,
                "responses": {"200": _import("Import appliqué, avec le rapport ligne à ligne."), **_SHOP_STOCK_ERRORS},
            },
            "patch": {
                "operationId": "updateShopStockLines",
                "summary": "Modifier quelques lignes du stock",
                "description": (
                    "Seules les lignes envoyées changent (quantité en rayon absolue, prix facultatif : "
                    "sans prix, le prix connu est gardé) ; les autres restent telles quelles."
                ),
                "requestBody": _STOCK_BODY,
                "responses": {"200": _import("Lignes appliquées, avec le rapport ligne à ligne."), **_SHOP_STOCK_ERRORS},
            },
        },
        "/passculture/{siret}": {
            "get": {
                "operationId": "passCultureStocks",
                "summary": "Stock d'une librairie au format de l'API fournisseur du pass Culture",
                "description": (
                    "Lignes triées par « ref » (EAN-13). Chaque page continue après « after » (la dernière "
                    "« ref » reçue) ; une liste « stocks » vide termine la synchronisation. Toutes les lignes "
                    "connues de la librairie sont envoyées, y compris à 0 (le pass Culture ne met à jour que "
                    "les références reçues). Sans paramètre : 200 pour le SIRET d'une librairie membre, "
                    "404 sinon. Authentification : « Authorization: Basic <jeton> » (le jeton brut) ou Bearer."
                ),
                "parameters": [
                    {"name": "siret", "in": "path", "required": True,
                     "schema": {"type": "string", "pattern": "^[0-9]{14}$"}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
                    {"name": "after", "in": "query", "required": False,
                     "schema": {"type": "string", "pattern": "^[0-9]{1,13}$"},
                     "description": "Dernière « ref » de la page précédente."},
                    {"name": "modifiedSince", "in": "query", "required": False,
                     "schema": {"type": "string", "format": "date-time"},
                     "description": "Seulement les lignes modifiées depuis (ISO 8601 ; UTC sans décalage)."},
                ],
                "responses": {
                    "200": {"description": "Une page de stock.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PassCulturePage"}}}},
                    "400": _error("Paramètre invalide."),
                    "401": _error("Jeton manquant, invalide ou révoqué."),
                    "403": _error("Le jeton appartient à une autre librairie."),
                    "404": _error("Aucune librairie membre n'a ce SIRET."),
                    "405": _error("Méthode non autorisée."),
                },
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapiDocument",
                "summary": "Ce document",
                "security": [],
                "responses": {
                    "200": {"description": "Le document OpenAPI.",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    "405": _error("Méthode non autorisée."),
                },
            },
        },
    },
    "components": {
        "securitySchemes": {
            "bearerToken": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <jeton>"},
            "rawBasicToken": {
                "type": "apiKey", "in": "header", "name": "Authorization",
                "description": "Forme du pass Culture : « Basic <jeton> », le jeton brut (pas de base64).",
            },
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {"error": {"type": "string", "description": "Code stable, en anglais."},
                               "message": {"type": "string", "description": "Explication en français."}},
            },
            "StockItem": {
                "type": "object",
                "required": ["ref", "quantity"],
                "properties": {
                    "ref": {"type": ["string", "integer"], "description": "ISBN ou EAN-13, avec ou sans tirets."},
                    "quantity": {"type": ["integer", "string"], "minimum": 0, "description": "Exemplaires en rayon."},
                    "price": {"type": ["number", "string", "null"], "description": "Prix TTC en euros."},
                    "title": {"type": "string"},
                    "author": {"type": "string"},
                    "publisher": {"type": "string"},
                },
            },
            "StockPayload": {
                "type": "object",
                "required": ["stocks"],
                "properties": {"stocks": {"type": "array", "items": {"$ref": "#/components/schemas/StockItem"}}},
            },
            "Problem": _PROBLEM,
            "ImportResult": {
                "type": "object",
                "required": ["import_id", "status", "message", "counts", "errors", "warnings"],
                "properties": {
                    "import_id": {"type": "integer"},
                    "status": {"type": "string", "enum": ["applied", "refused"]},
                    "message": {"type": "string"},
                    "counts": {
                        "type": "object",
                        "required": ["rows_read", "created", "updated", "unchanged", "zeroed", "rejected",
                                     "books_created"],
                        "properties": {name: {"type": "integer", "minimum": 0} for name in (
                            "rows_read", "created", "updated", "unchanged", "zeroed", "rejected", "books_created")},
                    },
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                    "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                },
            },
            "PassCulturePage": {
                "type": "object",
                "required": ["total", "limit", "offset", "stocks"],
                "properties": {
                    "total": {"type": "integer", "minimum": 0, "description": "Lignes répondant au filtre."},
                    "limit": {"type": "integer", "minimum": 1},
                    "offset": {"type": "integer", "minimum": 0, "description": "Lignes avant cette page."},
                    "stocks": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ref", "available", "price"],
                            "properties": {
                                "ref": {"type": "string", "pattern": "^[0-9]{13}$"},
                                "available": {"type": "integer", "minimum": 0,
                                              "description": "Exemplaires réservables maintenant (en rayon − réservés)."},
                                "price": {"type": ["number", "null"],
                                          "description": "Prix TTC en euros ; null si la librairie n'en a jamais envoyé."},
                            },
                        },
                    },
                },
            },
        },
    },
}


def openapi_document(server_url: str = "/api/v1") -> dict:
    document = copy.deepcopy(DOCUMENT)
    document["servers"] = [{"url": server_url}]
    return document
