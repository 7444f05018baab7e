"""The OpenAPI 3.1 description of the point-of-sale API, served at /api/v1/openapi.json.

``tests/catalogue/test_api.py`` validates it and calls every operation, so
change it together with the views.
"""

import copy


def _error(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _import(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportResult"}}},
    }


_SHOP_STOCK_ERRORS = {
    "202": {
        "description": (
            "Fichier reçu et gardé, import confié au traitement en arrière-plan (fichiers de plus de "
            "STOCK_IMPORT_INLINE_MAX_BYTES, 256 Kio par défaut) : suivez « status_url »."
        ),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportAccepted"}}},
    },
    "400": _error(
        "Corps JSON illisible ou trop imbriqué, paramètre invalide, caractère nul dans l'adresse, ou corps plus "
        "court (connexion coupée : incomplete_body) ou plus long (body_too_long) que son Content-Length ; "
        "rien n'a changé."
    ),
    "411": _error("Ni Content-Length ni corps « chunked » lisible par ce serveur : envoyez Content-Length."),
    "401": _error("Jeton manquant, invalide ou révoqué (en-tête WWW-Authenticate)."),
    "403": _error(
        "Le jeton appartient à une autre librairie (forbidden) ou à une librairie qui n'est plus membre "
        "active (shop_inactive) ; rien n'a changé."
    ),
    "404": _error("Librairie inconnue."),
    "405": _error("Méthode non autorisée."),
    "413": _error("Corps trop gros (réglage STOCK_FILE_MAX_BYTES, 50 Mo par défaut)."),
    "415": _error("Type de contenu autre que text/csv ou application/json."),
    "422": _import(
        "Import refusé (fichier illisible, trop de lignes rejetées, ou instantané qui viderait "
        "la plupart du stock) : le stock précédent est conservé ; le rapport dit pourquoi."
    ),
    "500": _import("Import échoué sur une erreur du portail : le stock précédent est conservé ; renvoyez le fichier."),
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

_SHOP_SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Identifiant de la librairie.",
}

_PROBLEM = {
    "type": "object",
    "required": ["line", "value", "error", "level"],
    "properties": {
        "line": {"type": "integer", "description": "Ligne du fichier (2 = première ligne après l'en-tête)."},
        "index": {"type": "integer", "description": "Position dans « stocks » (corps JSON seulement)."},
        "value": {"type": "string", "description": "Valeur en cause (l'ISBN tel qu'envoyé)."},
        "error": {"type": "string"},
        "level": {"type": "string", "enum": ["error", "warning"]},
        "kind": {"type": "string", "enum": ["isbn", "quantity", "price", "duplicate"]},
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Librairies en réseau — API des logiciels de caisse",
        "version": "1.0.0",
        "description": (
            "Les logiciels de caisse des librairies membres envoient leur stock (instantané complet en PUT, "
            "quelques lignes en PATCH) avec le jeton de la librairie. Les quantités envoyées sont les "
            "exemplaires en rayon."
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
                "parameters": [
                    {
                        "name": "force",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "boolean", "default": False},
                        "description": "Appliquer même si l'instantané fait passer à zéro la plupart des titres.",
                    }
                ],
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
                "responses": {
                    "200": _import("Lignes appliquées, avec le rapport ligne à ligne."),
                    **_SHOP_STOCK_ERRORS,
                },
            },
        },
        "/shops/{slug}/imports/{import_id}": {
            "parameters": [
                _SHOP_SLUG,
                {
                    "name": "import_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"},
                    "description": "« import_id » d'un envoi.",
                },
            ],
            "get": {
                "operationId": "shopStockImport",
                "summary": "Où en est un import, et son rapport",
                "description": (
                    "Statuts : pending (fichier gardé, en attente d'un traitement) → running (lignes lues : "
                    "progress.rows_read) → applied (puis la recherche se met à jour : progress.books_indexed sur "
                    "books_to_index ; phase passe de indexing à done) | refused (le fichier : le stock précédent est "
                    "conservé) | failed (le portail, ou un traitement arrêté en route : rien n'est appliqué)."
                ),
                "responses": {
                    "200": _import("L'import, son statut et son rapport."),
                    "401": _error("Jeton manquant, invalide ou révoqué."),
                    "403": _error("Le jeton appartient à une autre librairie."),
                    "404": _error("Librairie ou import inconnu."),
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
                    "200": {
                        "description": "Le document OpenAPI.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "405": _error("Méthode non autorisée."),
                },
            },
        },
    },
    "components": {
        "securitySchemes": {
            "bearerToken": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <jeton>"},
            "rawBasicToken": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "« Basic <jeton> », le jeton brut (pas de base64).",
            },
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string", "description": "Code stable, en anglais."},
                    "message": {"type": "string", "description": "Explication en français."},
                },
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
            "ImportAccepted": {
                "type": "object",
                "required": ["import_id", "status", "status_url"],
                "properties": {
                    "import_id": {"type": "integer"},
                    "status": {"type": "string", "enum": ["pending", "running", "applied", "refused", "failed"]},
                    "status_url": {"type": "string", "description": "GET (même jeton) : statut et rapport."},
                },
            },
            "ImportResult": {
                "type": "object",
                "required": ["import_id", "status", "message", "counts", "errors", "warnings"],
                "properties": {
                    "import_id": {"type": "integer"},
                    "status": {"type": "string", "enum": ["pending", "running", "applied", "refused", "failed"]},
                    "phase": {"type": "string", "enum": ["waiting", "reading", "applying", "indexing", "done"]},
                    "message": {"type": "string"},
                    "status_url": {"type": "string"},
                    "received_at": {"type": "string", "format": "date-time"},
                    "started_at": {"type": ["string", "null"], "format": "date-time"},
                    "finished_at": {"type": ["string", "null"], "format": "date-time"},
                    "duration_ms": {"type": "integer", "minimum": 0},
                    "stock_version": {
                        "type": ["integer", "null"],
                        "description": "Marque de changement posée sur les lignes de cet import.",
                    },
                    "progress": {
                        "type": "object",
                        "properties": {
                            name: {"type": "integer", "minimum": 0}
                            for name in (
                                "rows_read",
                                "lines_applied",
                                "books_to_index",
                                "books_indexed",
                                "failed_refreshes",
                                "given_up_refreshes",
                            )
                        },
                    },
                    "problem_counts": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                        "description": "Tous les problèmes, comptés par type (isbn, quantity, price, duplicate).",
                    },
                    "problems_left_out": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Problèmes comptés mais pas détaillés (au-delà des "
                        "STOCK_IMPORT_MAX_REPORTED_PROBLEMS premiers).",
                    },
                    "counts": {
                        "type": "object",
                        "required": [
                            "rows_read",
                            "created",
                            "updated",
                            "unchanged",
                            "zeroed",
                            "rejected",
                            "books_created",
                        ],
                        "properties": {
                            name: {"type": "integer", "minimum": 0}
                            for name in (
                                "rows_read",
                                "created",
                                "updated",
                                "unchanged",
                                "zeroed",
                                "rejected",
                                "books_created",
                            )
                        },
                    },
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                    "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                },
            },
        },
    },
}


def openapi_document(server_url: str = "/api/v1") -> dict:
    document = copy.deepcopy(DOCUMENT)
    document["servers"] = [{"url": server_url}]
    return document
