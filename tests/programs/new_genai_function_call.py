from google import genai
from google.genai import types

get_weather = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather for a city.",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "city": types.Schema(type=types.Type.STRING, description="City name"),
            "unit": types.Schema(type=types.Type.STRING, enum=["celsius", "fahrenheit"]),
        },
        required=["city"],
    ),
)

client = genai.Client()
response = client.models.generate_content(
    model="gemini-2.5-flash-lite",
    contents='What is the weather in Paris? call get_weather(city="Paris", unit=celsius)',
    config=types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[get_weather])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    ),
)
call = response.function_calls[0]
print(call.name)
print(sorted(call.args.items()))
