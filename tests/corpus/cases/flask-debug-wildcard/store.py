USERS = {1: {"name": "ada"}, 2: {"name": "linus"}}


def get_user(user_id):
    return USERS.get(user_id)
