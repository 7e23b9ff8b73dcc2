"""Getting and revoking API tokens over HTTP."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_out
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import TokenAuthentication
from api.tokens import token_delete, token_issue, tokens_revoke_all
from tradepulse.timeutil import format_timestamp


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


TokenSerializer = inline_serializer(
    "NewToken",
    fields={
        "token": serializers.CharField(help_text="Shown only in this response."),
        "expiry": serializers.DateTimeField(allow_null=True),
    },
)


class LoginView(APIView):
    """``POST {"username", "password"}`` -> a new API token (shown once) and its expiry."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=LoginSerializer, responses={200: TokenSerializer}, tags=["auth"])
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            raise AuthenticationFailed("Wrong username or password.")
        instance, key = token_issue(user=user)
        expiry = format_timestamp(instance.expiry) if instance.expiry else None
        return Response({"token": key, "expiry": expiry})

    def get_authenticate_header(self, request):
        return "Token"


class LogoutView(APIView):
    """``POST`` with ``Authorization: Token KEY`` revokes that token."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request):
        token_delete(request.auth)
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """``POST`` with ``Authorization: Token KEY`` revokes every token of its user."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request):
        tokens_revoke_all(user=request.user)
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
