from rest_framework.permissions import IsAuthenticated


class IsAuthenticatedThrottled(IsAuthenticated):
    """``IsAuthenticated`` that counts anonymous attempts against the throttles first.

    DRF checks permissions before throttles, so without this an anonymous client (say, one
    guessing tokens) would get unlimited 401s and never a 429.
    """

    def has_permission(self, request, view):
        if request.user and request.user.is_authenticated:
            return True
        view.check_throttles(request)
        return False
